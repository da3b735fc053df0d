// The local store as a transport: pull = copyImage(source, storeDestination(...)),
// push = copyImage(storeSource(...), destination). Typed against the few store members used
// (structurally satisfied by cache/store.ts's Store), so registry/ does not depend on all of cache/.
import { Readable } from 'node:stream';
import { UserError } from '../oci/errors.js';
import { DOCKER_MANIFEST, isIndexMediaType, OCI_MANIFEST } from '../oci/mediatypes.js';
import type { Descriptor, ImageIndex, Platform } from '../oci/types.js';
import { parseJsonFrom } from './json.js';
import { hostPlatform, selectManifest } from './platform.js';
import type { ImageDestination, ImageSource, ManifestBytes } from './transport.js';
import { verifyBytes } from './verify.js';

const SMALL_BLOB = 256 << 10;

export interface StoreImageRecord {
  id: string;
  manifestDigest: string;
  manifestMediaType: string;
  names: string[];
}

export interface StoreLike<R extends StoreImageRecord = StoreImageRecord> {
  blobs: {
    has(digest: string): Promise<boolean>;
    size(digest: string): Promise<number>;
    readBytes(digest: string): Promise<Buffer>;
    /** A small blob at once, undefined when missing (cache/blobs.ts has it; other stores may not). */
    readBytesSync?(digest: string): Buffer | undefined;
    createReadStream(digest: string, opts?: { highWaterMark?: number }): Readable;
    ingest(source: Readable | AsyncIterable<Uint8Array>, expected?: { digest?: string; size?: number }): Promise<{ digest: string; size: number }>;
  };
  images: {
    add(manifest: { bytes: Buffer; mediaType: string }, names: string[]): Promise<R>;
  };
}

function storeRef(rec: StoreImageRecord): string {
  return rec.names[0] ?? rec.id.slice(0, 12);
}

export function storeSource(store: StoreLike, rec: StoreImageRecord): ImageSource {
  const reference = storeRef(rec);
  const missing = (desc: Descriptor) => new UserError(`${reference}: blob ${desc.digest} is missing from the local store`);
  /** A small blob whole: at once when the store can (see readBytesSync). */
  const readSmall = async (desc: Descriptor): Promise<Buffer> => {
    if (store.blobs.readBytesSync) return store.blobs.readBytesSync(desc.digest) ?? Promise.reject(missing(desc));
    if (!(await store.blobs.has(desc.digest))) throw missing(desc);
    return store.blobs.readBytes(desc.digest);
  };
  return {
    reference,
    async getManifest(platform: Platform = hostPlatform()): Promise<ManifestBytes> {
      let desc: Descriptor = { mediaType: rec.manifestMediaType, digest: rec.manifestDigest, size: -1 };
      for (let depth = 0; depth < 4; depth++) {
        const bytes = await readSmall(desc);
        // The manifest is verified by the caller (copyImage does, while its first requests are out);
        // an index here, before an entry is picked from it.
        if (!isIndexMediaType(desc.mediaType)) return { bytes, mediaType: desc.mediaType, digest: desc.digest };
        verifyBytes(bytes, desc, reference);
        desc = selectManifest(parseJsonFrom<ImageIndex>(bytes, `${reference}: index`), platform, reference);
      }
      throw new UserError(`${reference}: indexes nested too deeply`);
    },
    async getBlob(desc: Descriptor): Promise<Readable> {
      // A config (or a tiny layer): read at once rather than through a file stream.
      if (desc.size >= 0 && desc.size <= SMALL_BLOB && store.blobs.readBytesSync) return Readable.from([await readSmall(desc)]);
      if (!(await store.blobs.has(desc.digest))) throw missing(desc);
      // 1 MiB reads: a 600 MB layer is ~600 reads and hash updates, not ~10,000 of 64 KiB.
      return store.blobs.createReadStream(desc.digest, { highWaterMark: 1 << 20 });
    },
    async close(): Promise<void> {},
  };
}

export function storeDestination<R extends StoreImageRecord>(store: StoreLike<R>, names: string[]): ImageDestination & { record(): R } {
  let manifest: ManifestBytes | undefined;
  let rec: R | undefined;
  const reference = names[0] ?? 'local store';
  return {
    reference,
    // Keep whatever the source has, so a pulled image keeps its registry digest.
    supportedManifestTypes: [OCI_MANIFEST, DOCKER_MANIFEST],
    async hasBlob(desc: Descriptor): Promise<boolean> {
      if (!(await store.blobs.has(desc.digest))) return false;
      return desc.size < 0 || (await store.blobs.size(desc.digest)) === desc.size;
    },
    async putBlob(desc: Descriptor, content: Readable): Promise<void> {
      await store.blobs.ingest(content, desc.size >= 0 ? { digest: desc.digest, size: desc.size } : { digest: desc.digest });
    },
    async putManifest(m: ManifestBytes): Promise<void> {
      manifest = m;
    },
    async commit(): Promise<void> {
      if (!manifest) throw new Error('storeDestination.commit() before putManifest()');
      rec = await store.images.add({ bytes: manifest.bytes, mediaType: manifest.mediaType }, names);
    },
    async close(): Promise<void> {},
    record(): R {
      if (!rec) throw new Error('storeDestination.record() before commit()');
      return rec;
    },
  };
}
