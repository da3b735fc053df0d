// The docker-archive: transport: the `docker save` format. manifest.json lists, per image, its
// config file, RepoTags and layer files; layers are plain tars whose sha256 is the diffID.
// Reading synthesises a Docker schema 2 manifest (layer digest = diffID, as containers/image does);
// writing lays out `<hex>.tar` layers, `<hex>.json` config, legacy `<id>/layer.tar` links and the
// `repositories` file, so `docker load` and `podman load` both accept it.
import { createReadStream } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { chainIds, digestHex, sha256 } from '../oci/digest.js';
import { UserError } from '../oci/errors.js';
import { DOCKER_CONFIG, DOCKER_LAYER, DOCKER_MANIFEST, layerCompression } from '../oci/mediatypes.js';
import { parseReference, formatReference, ReferenceError } from '../oci/reference.js';
import type { Descriptor, ImageConfig, ImageManifest } from '../oci/types.js';
import { extractArchive, isGzipFile, makeTempDir, writeArchive, type ArchiveMember } from './archive-io.js';
import { isNotFound, writeVerifiedFile } from './files.js';
import { parseJsonFrom } from './json.js';
import type { ImageDestination, ImageSource, ManifestBytes } from './transport.js';

export interface DockerArchiveItem {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

/** Normalise a name for docker-archive (must be tagged, not digested). */
function normalizeName(name: string, reference: string): { full: string; repo: string; tag: string } {
  try {
    const r = parseReference(name);
    if (r.digest) throw new UserError(`${reference}: docker-archive names cannot have a digest`);
    return { full: formatReference(r), repo: `${r.domain}/${r.path}`, tag: r.tag! };
  } catch (e) {
    if (e instanceof ReferenceError) throw new UserError(`${reference}: ${e.message}`, { cause: e });
    throw e;
  }
}

function tryNormalize(name: string): string | undefined {
  try {
    return formatReference(parseReference(name));
  } catch {
    return undefined;
  }
}

interface BlobFile {
  path: string;
  gzip: boolean;
}

class DockerArchiveSource implements ImageSource {
  constructor(
    readonly reference: string,
    private readonly dir: string,
    private readonly manifest: ManifestBytes,
    private readonly files: Map<string, BlobFile>,
    /** The entry's RepoTags, so a pulled image keeps its names. */
    readonly names: string[],
  ) {}

  async getManifest(): Promise<ManifestBytes> {
    return this.manifest;
  }

  async getBlob(desc: Descriptor): Promise<Readable> {
    const f = this.files.get(desc.digest);
    if (!f) throw new UserError(`${this.reference}: no blob ${desc.digest} in the archive`);
    const raw = createReadStream(f.path);
    if (!f.gzip) return raw;
    // The manifest promises the uncompressed layer (digest = diffID), so gzipped members are inflated here.
    const gunzip = createGunzip();
    pipeline(raw, gunzip).catch(() => {});
    return gunzip;
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

async function uncompressedSize(path: string): Promise<number> {
  let n = 0;
  const gunzip = createGunzip();
  gunzip.on('data', (c: Buffer) => (n += c.length));
  await pipeline(createReadStream(path), gunzip);
  return n;
}

function pickItem(items: DockerArchiveItem[], name: string | undefined, reference: string): DockerArchiveItem {
  if (name === undefined) {
    if (items.length !== 1) throw new UserError(`${reference}: the archive holds ${items.length} images; name one with ${reference}:NAME or :@INDEX`);
    return items[0]!;
  }
  if (/^@\d+$/.test(name)) {
    const i = Number(name.slice(1));
    if (i >= items.length) throw new UserError(`${reference}: no image @${i} in the archive (it holds ${items.length})`);
    return items[i]!;
  }
  const want = normalizeName(name, reference).full;
  const found = items.find((it) => (it.RepoTags ?? []).some((t) => tryNormalize(t) === want));
  if (!found) throw new UserError(`${reference}: no image named ${want} in the archive`);
  return found;
}

export async function openDockerArchiveSource(file: string, name: string | undefined, reference: string, tmpDir?: string): Promise<ImageSource> {
  const dir = await makeTempDir('docker-archive', tmpDir);
  try {
    await extractArchive(file, dir, reference);
    const member = (p: string): string => {
      const n = posix.normalize(p);
      if (n.startsWith('../') || posix.isAbsolute(n)) throw new UserError(`${reference}: manifest.json names ${JSON.stringify(p)} outside the archive`);
      return join(dir, n);
    };
    let listBytes: Buffer;
    try {
      listBytes = await readFile(join(dir, 'manifest.json'));
    } catch (e) {
      if (isNotFound(e)) throw new UserError(`${reference}: not a docker-archive (no manifest.json in ${file})`);
      throw e;
    }
    const items = parseJsonFrom<DockerArchiveItem[]>(listBytes, `${reference}: manifest.json`);
    if (!Array.isArray(items)) throw new UserError(`${reference}: manifest.json is not a list`);
    const item = pickItem(items, name, reference);
    if (typeof item.Config !== 'string' || !Array.isArray(item.Layers)) throw new UserError(`${reference}: manifest.json entry lacks Config or Layers`);

    const readMember = async (p: string): Promise<Buffer> => {
      try {
        return await readFile(member(p));
      } catch (e) {
        if (isNotFound(e)) throw new UserError(`${reference}: ${p} is missing from the archive`);
        throw e;
      }
    };
    const configBytes = await readMember(item.Config);
    const config = parseJsonFrom<ImageConfig>(configBytes, `${reference}: ${item.Config}`);
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== item.Layers.length) throw new UserError(`${reference}: config has ${diffIds.length} diff_ids for ${item.Layers.length} layers`);

    const files = new Map<string, BlobFile>();
    const configDigest = sha256(configBytes);
    files.set(configDigest, { path: member(item.Config), gzip: false });
    const layers: Descriptor[] = [];
    for (let i = 0; i < item.Layers.length; i++) {
      const path = member(item.Layers[i]!);
      let gzip: boolean;
      try {
        gzip = await isGzipFile(path);
      } catch (e) {
        if (isNotFound(e)) throw new UserError(`${reference}: ${item.Layers[i]} is missing from the archive`);
        throw e;
      }
      const size = gzip ? await uncompressedSize(path).catch((e: Error) => {
        throw new UserError(`${reference}: ${item.Layers[i]} is not valid gzip: ${e.message}`, { cause: e });
      }) : (await stat(path)).size;
      files.set(diffIds[i]!, { path, gzip });
      layers.push({ mediaType: DOCKER_LAYER, digest: diffIds[i]!, size });
    }
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { mediaType: DOCKER_CONFIG, size: configBytes.length, digest: configDigest },
      layers,
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    return new DockerArchiveSource(reference, dir, { bytes, mediaType: DOCKER_MANIFEST, digest: sha256(bytes) }, files, item.RepoTags ?? []);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

class DockerArchiveDestination implements ImageDestination {
  readonly supportedManifestTypes = [DOCKER_MANIFEST];
  readonly wantsUncompressedLayers = true;
  private manifest: ImageManifest | undefined;

  constructor(
    readonly reference: string,
    private readonly file: string,
    private readonly dir: string,
    private readonly name: { full: string; repo: string; tag: string } | undefined,
  ) {}

  private blobFile(digest: string): string {
    return join(this.dir, digestHex(digest));
  }

  async hasBlob(desc: Descriptor): Promise<boolean> {
    try {
      await stat(this.blobFile(desc.digest));
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  async putBlob(desc: Descriptor, content: Readable): Promise<void> {
    await writeVerifiedFile(this.blobFile(desc.digest), content, desc, this.reference);
  }

  async putManifest(manifest: ManifestBytes): Promise<void> {
    const m = parseJsonFrom<ImageManifest>(manifest.bytes, `${this.reference}: manifest`);
    for (const l of m.layers) {
      // copyImage decompresses for us (wantsUncompressedLayers); anything else is a caller bug.
      if (layerCompression(l.mediaType) !== 'none') throw new Error(`docker-archive got a compressed layer ${l.digest} (${l.mediaType})`);
    }
    this.manifest = m;
  }

  async commit(): Promise<void> {
    const m = this.manifest;
    if (!m) throw new Error('DockerArchiveDestination.commit() before putManifest()');
    const configHex = digestHex(m.config.digest);
    const config = parseJsonFrom<ImageConfig>(await readFile(this.blobFile(m.config.digest)), `${this.reference}: config`);
    const members: ArchiveMember[] = [];
    const seen = new Set<string>();
    for (const l of m.layers) {
      const hex = digestHex(l.digest);
      if (seen.has(hex)) continue;
      seen.add(hex);
      members.push({ name: `${hex}.tar`, path: this.blobFile(l.digest) });
    }
    members.push({ name: `${configHex}.json`, path: this.blobFile(m.config.digest) });
    // Legacy per-layer directories (pre-1.10 docker load), IDs from the chain IDs so they are stable.
    const ids = chainIds(m.layers.map((l) => l.digest)).map(digestHex);
    ids.forEach((id, i) => {
      const json: Record<string, unknown> = { id, created: config.created ?? '1970-01-01T00:00:00Z', os: config.os, architecture: config.architecture };
      if (i > 0) json.parent = ids[i - 1];
      members.push({ name: `${id}/VERSION`, data: '1.0' });
      members.push({ name: `${id}/json`, data: JSON.stringify(json) });
      members.push({ name: `${id}/layer.tar`, symlink: `../${digestHex(m.layers[i]!.digest)}.tar` });
    });
    const item: DockerArchiveItem = { Config: `${configHex}.json`, RepoTags: this.name ? [this.name.full] : [], Layers: m.layers.map((l) => `${digestHex(l.digest)}.tar`) };
    members.push({ name: 'manifest.json', data: JSON.stringify([item]) });
    if (this.name && ids.length > 0) members.push({ name: 'repositories', data: JSON.stringify({ [this.name.repo]: { [this.name.tag]: ids[ids.length - 1] } }) });
    await writeArchive(this.file, members);
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

export async function openDockerArchiveDestination(file: string, name: string | undefined, reference: string, tmpDir?: string): Promise<ImageDestination> {
  if (name !== undefined && name.startsWith('@')) throw new UserError(`${reference}: @INDEX only selects an image when reading; name the image to write (NAME:TAG)`);
  const parsed = name === undefined ? undefined : normalizeName(name, reference);
  const dir = await makeTempDir('docker-archive', tmpDir);
  return new DockerArchiveDestination(reference, file, dir, parsed);
}
