// Build cache entries shared through any image transport (a registry repository for CI fleets,
// or an oci: layout): `--cache-to` writes one image whose layers are the cached layers and whose
// config, besides the usual rootfs.diff_ids (so every transport and tool handles it as an ordinary
// image), carries the entries (key → layer, created) under "dev.tsbuild.cache". `--cache-from`
// reads only the manifest and that config up front; a layer blob is fetched only when the build
// really needs it (a later step misses on top of it, or it ends up in the final image).
// The same image carries exported RUN --mount=type=cache contents, one layer per mount id, under
// "mounts" in that field (see build-cache-mounts.ts); readers that predate them ignore the field.
import { Readable } from 'node:stream';
import { sha256 } from '../oci/digest.js';
import { UserError } from '../oci/errors.js';
import { OCI_CONFIG, OCI_MANIFEST } from '../oci/mediatypes.js';
import type { Descriptor, ImageManifest } from '../oci/types.js';
import { copyImage } from '../registry/copy.js';
import type { ImageDestination, ImageSource } from '../registry/transport.js';
import type { CacheEntry, CacheLayer } from './build-cache.js';
import type { CacheMountLayer } from './build-cache-mounts.js';
import type { Store } from './store.js';

const FIELD = 'dev.tsbuild.cache';
const KEY_RE = /^sha256:[a-f0-9]{64}$/;

export interface RemoteCache {
  readonly reference: string;
  get(key: string): CacheEntry | undefined;
  /** The exported contents of cache mount `id`, if the cache image has them. */
  mount(id: string): CacheLayer | undefined;
  /** Ids of every cache mount the image carries, sorted. */
  mountIds(): string[];
  /** Bring a layer blob into the local store (once, however many ask). */
  fetch(layer: CacheLayer): Promise<void>;
  /** The blob as a stream, without storing it (for re-exporting entries never fetched). */
  blob(layer: CacheLayer): Promise<Readable>;
  close(): Promise<void>;
}

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function validLayer(l: CacheLayer | undefined): l is CacheLayer {
  return !!l && typeof l === 'object' && KEY_RE.test(l.digest) && KEY_RE.test(l.diffID) && Number.isSafeInteger(l.size) && typeof l.mediaType === 'string';
}

function validEntry(e: unknown): e is CacheEntry {
  const x = e as CacheEntry;
  if (!x || typeof x !== 'object' || typeof x.key !== 'string' || !KEY_RE.test(x.key) || typeof x.created !== 'string') return false;
  if (x.layer === undefined) return true;
  return validLayer(x.layer);
}

function validMount(m: unknown): m is CacheMountLayer {
  const x = m as CacheMountLayer;
  return !!x && typeof x === 'object' && typeof x.id === 'string' && x.id !== '' && validLayer(x.layer);
}

/** Read the entries of a cache image. */
export async function importCache(store: Store, src: ImageSource): Promise<RemoteCache> {
  const m = await src.getManifest();
  const manifest = JSON.parse(m.bytes.toString('utf8')) as ImageManifest;
  if (!manifest.config?.digest) throw new UserError(`${src.reference}: not a cache image (no config)`);
  const bytes = await readAll(await src.getBlob(manifest.config));
  if (sha256(bytes) !== manifest.config.digest) throw new UserError(`${src.reference}: cache config does not match its digest`);
  const config = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  const field = config[FIELD] as { version?: number; entries?: unknown[]; mounts?: unknown } | undefined;
  if (!field || field.version !== 1 || !Array.isArray(field.entries)) throw new UserError(`${src.reference}: not a tsbuild cache image`);
  // Only layers the manifest lists can be fetched from it; others make their entry useless.
  const listed = new Set((manifest.layers ?? []).map((l) => l.digest));
  const entries = new Map<string, CacheEntry>();
  for (const e of field.entries) if (validEntry(e) && (!e.layer || listed.has(e.layer.digest))) entries.set(e.key, { ...e, version: 1 });
  const mounts = new Map<string, CacheLayer>();
  for (const m of Array.isArray(field.mounts) ? field.mounts : []) {
    if (validMount(m) && listed.has(m.layer.digest)) mounts.set(m.id, { diffID: m.layer.diffID, digest: m.layer.digest, size: m.layer.size, mediaType: m.layer.mediaType });
  }
  const fetching = new Map<string, Promise<void>>();
  const desc = (l: CacheLayer): Descriptor => ({ mediaType: l.mediaType, digest: l.digest, size: l.size });
  return {
    reference: src.reference,
    get: (key) => entries.get(key),
    mount: (id) => mounts.get(id),
    mountIds: () => [...mounts.keys()].sort(),
    fetch(layer) {
      let p = fetching.get(layer.digest);
      if (!p) {
        p = (async () => {
          if (await store.blobs.has(layer.digest)) return;
          // ingest verifies digest and size while writing.
          await store.blobs.ingest(await src.getBlob(desc(layer)), { digest: layer.digest, size: layer.size });
        })();
        fetching.set(layer.digest, p);
      }
      return p;
    },
    blob: (layer) => src.getBlob(desc(layer)),
    close: () => src.close(),
  };
}

/**
 * Write `entries` (and packed cache `mounts`) as one cache image to `dest`. Layers not in the store
 * are streamed from `remote`.
 */
export async function exportCache(store: Store, entries: CacheEntry[], dest: ImageDestination, remote?: RemoteCache, mounts: CacheMountLayer[] = []): Promise<{ manifestDigest: string; entries: number; layers: number; mounts: number }> {
  const layers: CacheLayer[] = [];
  const seen = new Set<string>();
  for (const l of [...entries.map((e) => e.layer), ...mounts.map((m) => m.layer)]) {
    if (l && !seen.has(l.digest)) {
      seen.add(l.digest);
      layers.push(l);
    }
  }
  const config = {
    architecture: 'unknown',
    os: 'unknown',
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffID) },
    [FIELD]: { version: 1, entries: entries.map(({ key, layer, created, instruction }) => ({ key, ...(layer ? { layer } : {}), created, instruction })), ...(mounts.length > 0 ? { mounts: mounts.map(({ id, layer }) => ({ id, layer })) } : {}) },
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDesc: Descriptor = { mediaType: OCI_CONFIG, digest: sha256(configBytes), size: configBytes.length };
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: configDesc,
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    annotations: { [FIELD]: 'v1' },
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const src: ImageSource = {
    reference: 'build cache',
    getManifest: async () => ({ bytes: manifestBytes, mediaType: OCI_MANIFEST, digest: sha256(manifestBytes) }),
    async getBlob(d) {
      if (d.digest === configDesc.digest) return Readable.from([configBytes]);
      if (await store.blobs.has(d.digest)) return store.blobs.createReadStream(d.digest);
      const l = layers.find((x) => x.digest === d.digest);
      if (remote && l) return remote.blob(l);
      throw new UserError(`cache layer ${d.digest} is neither in the store nor in the imported cache`);
    },
    close: async () => undefined,
  };
  const r = await copyImage(src, dest, {});
  return { manifestDigest: r.manifestDigest, entries: entries.length, layers: layers.length, mounts: mounts.length };
}
