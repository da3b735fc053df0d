// Names → images, persisted in <root>/images.json. Every mutation is a read-modify-write under the
// store lock, written atomically, so concurrent builds neither lose names nor see half a file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { digestHex, isDigest, sha256 } from '../oci/digest.js';
import { UserError } from '../oci/errors.js';
import type { ImageConfig, ImageManifest } from '../oci/types.js';
import type { BlobStore } from './blobs.js';
import { writeFileAtomic } from './fsutil.js';

export interface ImageRecord {
  /** hex of the config digest (podman's image ID) */
  id: string;
  manifestDigest: string;
  manifestMediaType: string;
  /** normalised references, e.g. docker.io/library/busybox:latest */
  names: string[];
  /** ISO time the image entered this store (its own creation time is its config's: see image-list.ts) */
  created: string;
}

interface ImagesFile {
  version: 1;
  images: ImageRecord[];
}

export class ImageStore {
  private readonly file: string;

  constructor(
    root: string,
    private readonly blobs: BlobStore,
    private readonly tmpDir: string,
    private readonly lock: <T>(fn: () => Promise<T>) => Promise<T>,
  ) {
    this.file = join(root, 'images.json');
  }

  async list(): Promise<ImageRecord[]> {
    return (await this.load()).images;
  }

  async resolve(nameOrId: string): Promise<ImageRecord | undefined> {
    return findRecord((await this.load()).images, nameOrId);
  }

  async add(manifest: { bytes: Buffer; mediaType: string }, names: string[]): Promise<ImageRecord> {
    let parsed: ImageManifest;
    try {
      parsed = JSON.parse(manifest.bytes.toString('utf8')) as ImageManifest;
    } catch (e) {
      throw new UserError(`invalid image manifest ${sha256(manifest.bytes)}: not JSON`, { cause: e });
    }
    const configDigest = parsed.config?.digest;
    if (typeof configDigest !== 'string' || !isDigest(configDigest)) {
      throw new UserError(`invalid image manifest ${sha256(manifest.bytes)}: no config digest`);
    }
    if (!(await this.blobs.has(configDigest))) throw new UserError(`image config ${configDigest} is not in the store`);
    // The manifest itself must be readable later; storing it is idempotent.
    const { digest: manifestDigest } = await this.blobs.putBytes(manifest.bytes);
    const id = digestHex(configDigest);
    return this.mutate((images) => {
      let rec = images.find((r) => r.id === id);
      if (!rec) {
        rec = { id, manifestDigest, manifestMediaType: manifest.mediaType, names: [], created: new Date().toISOString() };
        images.push(rec);
      } else {
        rec.manifestDigest = manifestDigest;
        rec.manifestMediaType = manifest.mediaType;
      }
      for (const n of names) moveName(images, rec, n);
      return { ...rec, names: [...rec.names] };
    });
  }

  async tag(id: string, name: string): Promise<void> {
    await this.mutate((images) => {
      const rec = findRecord(images, id);
      if (!rec) throw new UserError(`image ${id} not known`);
      moveName(images, rec, name);
    });
  }

  async untag(name: string): Promise<void> {
    await this.mutate((images) => {
      const rec = images.find((r) => r.names.includes(name));
      if (!rec) throw new UserError(`image name ${name} not known`);
      rec.names = rec.names.filter((n) => n !== name);
    });
  }

  async remove(id: string): Promise<void> {
    await this.mutate((images) => {
      const rec = findRecord(images, id);
      if (!rec) throw new UserError(`image ${id} not known`);
      images.splice(images.indexOf(rec), 1);
    });
  }

  async readManifest(rec: ImageRecord): Promise<ImageManifest> {
    return JSON.parse((await this.blobs.readBytes(rec.manifestDigest)).toString('utf8')) as ImageManifest;
  }

  async readConfig(rec: ImageRecord): Promise<ImageConfig> {
    return JSON.parse((await this.blobs.readBytes('sha256:' + rec.id)).toString('utf8')) as ImageConfig;
  }

  private async load(): Promise<ImagesFile> {
    return (await this.loadText()).file;
  }

  private async loadText(): Promise<{ file: ImagesFile; text: string | undefined }> {
    let text: string;
    try {
      // A small file every command reads: synchronously, without a thread-pool round trip per step.
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { file: { version: 1, images: [] }, text: undefined };
      throw e;
    }
    try {
      const f = JSON.parse(text) as ImagesFile;
      if (!Array.isArray(f.images)) throw new Error('no images array');
      return { file: f, text };
    } catch (e) {
      throw new UserError(`image store ${this.file} is corrupt: ${(e as Error).message}`, { cause: e });
    }
  }

  private mutate<T>(fn: (images: ImageRecord[]) => T): Promise<T> {
    return this.lock(async () => {
      const { file: f, text: before } = await this.loadText();
      const result = fn(f.images);
      const after = JSON.stringify(f, null, 2) + '\n';
      // Nothing changed (a rebuild giving the same image under the same names): no write, no fsync.
      if (after !== before) await writeFileAtomic(this.file, after, this.tmpDir);
      return result;
    });
  }
}

/** A name held by another image moves to `rec` (podman semantics); the other image may end up nameless. */
function moveName(images: ImageRecord[], rec: ImageRecord, name: string): void {
  for (const other of images) if (other !== rec) other.names = other.names.filter((n) => n !== name);
  if (!rec.names.includes(name)) rec.names.push(name);
}

function findRecord(images: ImageRecord[], nameOrId: string): ImageRecord | undefined {
  const byName = images.find((r) => r.names.includes(nameOrId));
  if (byName) return byName;
  const id = nameOrId.startsWith('sha256:') ? nameOrId.slice('sha256:'.length) : nameOrId;
  if (!/^[a-f0-9]{3,64}$/.test(id)) return undefined;
  if (id.length === 64 || nameOrId.startsWith('sha256:')) {
    const exact = images.find((r) => r.id === id);
    if (exact || id.length === 64) return exact;
  }
  const matches = images.filter((r) => r.id.startsWith(id));
  if (matches.length > 1) throw new UserError(`image ID prefix ${id} is ambiguous: it matches ${matches.length} images`);
  return matches[0];
}
