// The oci: transport: an OCI image layout directory (oci-layout, index.json, blobs/<alg>/<hex>).
// Tags are the org.opencontainers.image.ref.name annotation on index.json entries.
import { mkdir, readFile, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { UserError } from '../oci/errors.js';
import { sha256 } from '../oci/digest.js';
import { DOCKER_MANIFEST, isIndexMediaType, OCI_INDEX, OCI_MANIFEST } from '../oci/mediatypes.js';
import type { Descriptor, ImageIndex, Platform } from '../oci/types.js';
import { isNotFound, removeStaleTemps, writeFileAtomic, writeVerifiedFile } from './files.js';
import { parseJsonFrom } from './json.js';
import { hostPlatform, selectManifest } from './platform.js';
import type { ImageDestination, ImageSource, ManifestBytes } from './transport.js';
import { verifyBytes } from './verify.js';

export const REF_NAME = 'org.opencontainers.image.ref.name';
const LAYOUT_FILE = JSON.stringify({ imageLayoutVersion: '1.0.0' });
const DIGEST_RE = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

/** blobs/<alg>/<hex>; the digest is validated so a hostile index cannot point outside the layout. */
export function blobPath(dir: string, digest: string, reference: string): string {
  const m = DIGEST_RE.exec(digest);
  if (!m) throw new UserError(`${reference}: invalid digest ${JSON.stringify(digest)}`);
  return join(dir, 'blobs', m[1]!, m[2]!);
}

async function readIndex(dir: string, reference: string): Promise<ImageIndex> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, 'index.json'));
  } catch (e) {
    if (isNotFound(e)) throw new UserError(`${reference}: ${dir} is not an OCI image layout (no index.json)`);
    throw e;
  }
  const index = parseJsonFrom<ImageIndex>(bytes, `${reference}: index.json`);
  if (!index || !Array.isArray(index.manifests)) throw new UserError(`${reference}: index.json has no manifests list`);
  return index;
}

export class OciLayoutSource implements ImageSource {
  constructor(
    readonly dir: string,
    readonly tag: string | undefined,
    readonly reference: string,
  ) {}

  private async readBlobBytes(desc: Descriptor): Promise<Buffer> {
    try {
      const bytes = await readFile(blobPath(this.dir, desc.digest, this.reference));
      verifyBytes(bytes, desc, this.reference);
      return bytes;
    } catch (e) {
      if (isNotFound(e)) throw new UserError(`${this.reference}: blob ${desc.digest} is missing from the layout`);
      throw e;
    }
  }

  /** The index.json entry this reference names. */
  private async topDescriptor(): Promise<Descriptor> {
    const index = await readIndex(this.dir, this.reference);
    if (this.tag !== undefined) {
      const found = index.manifests.filter((d) => d.annotations?.[REF_NAME] === this.tag);
      if (found.length === 0) throw new UserError(`${this.reference}: no image tagged ${JSON.stringify(this.tag)} in ${this.dir}`);
      return found[found.length - 1]!;
    }
    if (index.manifests.length !== 1) {
      throw new UserError(`${this.reference}: the layout holds ${index.manifests.length} images; name one with ${this.reference}:TAG`);
    }
    return index.manifests[0]!;
  }

  async getManifest(platform: Platform = hostPlatform()): Promise<ManifestBytes> {
    let desc = await this.topDescriptor();
    // An index may point at another index; a few levels is plenty and stops cycles.
    for (let depth = 0; depth < 4; depth++) {
      const bytes = await this.readBlobBytes(desc);
      const parsed = parseJsonFrom<{ mediaType?: string; manifests?: unknown }>(bytes, `${this.reference}: manifest ${desc.digest}`);
      const mediaType = desc.mediaType || parsed.mediaType || (parsed.manifests ? OCI_INDEX : '');
      if (!isIndexMediaType(mediaType)) return { bytes, mediaType, digest: desc.digest };
      desc = selectManifest(parsed as ImageIndex, platform, this.reference);
    }
    throw new UserError(`${this.reference}: indexes nested too deeply`);
  }

  async getBlob(desc: Descriptor): Promise<Readable> {
    try {
      const fh = await open(blobPath(this.dir, desc.digest, this.reference), 'r');
      return fh.createReadStream();
    } catch (e) {
      if (isNotFound(e)) throw new UserError(`${this.reference}: blob ${desc.digest} is missing from the layout`);
      throw e;
    }
  }

  async close(): Promise<void> {}
}

export async function openOciLayoutSource(dir: string, tag: string | undefined, reference: string): Promise<OciLayoutSource> {
  const src = new OciLayoutSource(dir, tag, reference);
  await readIndex(dir, reference); // fail early on a path that is not a layout
  return src;
}

/**
 * Blobs land in the layout as they arrive (content-addressed, atomic renames, harmless if the copy
 * later fails); index.json only changes in commit(), so a failed copy never leaves a tag behind.
 */
export class OciLayoutDestination implements ImageDestination {
  // Only OCI unless forced: other tools look up a tag among OCI entries only (see forcedManifestTypes).
  readonly supportedManifestTypes = [OCI_MANIFEST];
  readonly forcedManifestTypes = [DOCKER_MANIFEST];
  private ready: Promise<void> | undefined;
  private pending: Descriptor | undefined;

  constructor(
    readonly dir: string,
    readonly tag: string | undefined,
    readonly reference: string,
  ) {}

  private init(): Promise<void> {
    this.ready ??= (async () => {
      await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
      await removeStaleTemps(this.dir);
      await removeStaleTemps(join(this.dir, 'blobs', 'sha256'));
      try {
        await stat(join(this.dir, 'oci-layout'));
      } catch (e) {
        if (!isNotFound(e)) throw e;
        await writeFileAtomic(join(this.dir, 'oci-layout'), LAYOUT_FILE);
      }
    })();
    return this.ready;
  }

  async hasBlob(desc: Descriptor): Promise<boolean> {
    try {
      const st = await stat(blobPath(this.dir, desc.digest, this.reference));
      return desc.size < 0 || st.size === desc.size;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  async putBlob(desc: Descriptor, content: Readable): Promise<void> {
    await this.init();
    const target = blobPath(this.dir, desc.digest, this.reference);
    await mkdir(join(target, '..'), { recursive: true });
    await writeVerifiedFile(target, content, desc, this.reference);
  }

  async putManifest(manifest: ManifestBytes): Promise<void> {
    await this.init();
    const desc: Descriptor = { mediaType: manifest.mediaType, digest: sha256(manifest.bytes), size: manifest.bytes.length };
    await writeVerifiedFile(blobPath(this.dir, desc.digest, this.reference), Readable.from([manifest.bytes]), desc, this.reference);
    if (this.tag !== undefined) desc.annotations = { [REF_NAME]: this.tag };
    this.pending = desc;
  }

  async commit(): Promise<void> {
    if (!this.pending) throw new Error('OciLayoutDestination.commit() before putManifest()');
    await this.init();
    let index: ImageIndex;
    try {
      index = await readIndex(this.dir, this.reference);
    } catch (e) {
      if (!(e instanceof UserError) || !/no index\.json/.test(e.message)) throw e;
      index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
    }
    const added = this.pending;
    // Same tag → the new image replaces it; untagged → drop an untagged entry for the same digest.
    const keep = index.manifests.filter((d) => {
      const name = d.annotations?.[REF_NAME];
      return this.tag !== undefined ? name !== this.tag : !(name === undefined && d.digest === added.digest);
    });
    const out: ImageIndex = { schemaVersion: 2, mediaType: index.mediaType ?? OCI_INDEX, manifests: [...keep, added] };
    if (index.annotations) out.annotations = index.annotations;
    await writeFileAtomic(join(this.dir, 'index.json'), JSON.stringify(out));
  }

  async close(): Promise<void> {}
}
