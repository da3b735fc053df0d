// copyImage: the one copy loop behind pull, push and every transport-to-transport copy.
// Source bytes are verified against their descriptors while streaming; the destination commits only
// after every blob and the manifest are in, so a failure leaves no image (and no tag) behind.
import { PassThrough, Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { zlibBuiltin } from '../oci/builtins.js';
import { convertManifest, layerMediaType, manifestFormatOf, manifestMediaType } from '../oci/convert.js';
import { sha256 } from '../oci/digest.js';
import { UserError } from '../oci/errors.js';
import { DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED, layerCompression } from '../oci/mediatypes.js';
import type { Descriptor, ImageConfig, ImageManifest, ManifestFormat, Platform } from '../oci/types.js';
import { parseJsonFrom } from './json.js';
import type { ImageDestination, ImageSource } from './transport.js';
import { DigestVerifier, verifyBytes } from './verify.js';

export type CopyProgress =
  /** `progress` reports `bytes` of the source blob read so far, at most every PROGRESS_INTERVAL_MS. */
  | { kind: 'blob'; phase: 'skipped' | 'started' | 'progress' | 'done'; digest: string; size: number; mediaType: string; bytes?: number }
  | { kind: 'manifest'; digest: string; mediaType: string; unchanged?: boolean };

export interface CopyOptions {
  /** Force the manifest format; by default the source's is kept when the destination accepts it. */
  format?: ManifestFormat;
  /** Which image of a multi-platform source; default this machine's. */
  platform?: Platform;
  /** Blobs copied at once (default 3). */
  concurrency?: number;
  onProgress?: (ev: CopyProgress) => void;
  /** Stops the copy: no new blob is started, blobs on their way are cut off, no manifest written. */
  signal?: AbortSignal;
}

export interface CopyResult {
  manifestDigest: string;
  configDigest: string;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function decompressor(compression: 'gzip' | 'zstd', reference: string): Transform {
  // node:zlib only for copies that decompress (into the store or an archive), not for every push.
  const zlib = zlibBuiltin();
  if (compression === 'gzip') return zlib.createGunzip();
  // zstd decompression is only in newer Node versions; look it up at run time.
  const make = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;
  if (!make) throw new UserError(`${reference}: cannot decompress a zstd layer with this Node.js version (needs Node >= 22.15)`);
  return make();
}

function chooseFormat(srcType: string, dest: ImageDestination, forced: ManifestFormat | undefined): ManifestFormat {
  if (forced) {
    const type = manifestMediaType(forced);
    if (!dest.supportedManifestTypes.includes(type) && !dest.forcedManifestTypes?.includes(type)) {
      throw new UserError(`${dest.reference} cannot store ${forced === 'oci' ? 'OCI' : 'Docker schema 2'} manifests`);
    }
    return forced;
  }
  if (dest.supportedManifestTypes.includes(srcType)) return manifestFormatOf(srcType)!;
  for (const t of dest.supportedManifestTypes) {
    const f = manifestFormatOf(t);
    if (f) return f;
  }
  throw new UserError(`${dest.reference} accepts no image manifest type this tool can produce`);
}

/** Run `fn` over items with at most `limit` in flight, keeping result order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

const PROGRESS_INTERVAL_MS = 200;

/** Counts bytes for progress bars; throttled so a fast local copy does not flood a JSON log. */
class ByteCounter extends Transform {
  private bytes = 0;
  private last = 0;
  constructor(private readonly report: (bytes: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null, d?: Buffer) => void): void {
    this.bytes += chunk.length;
    const now = Date.now();
    if (now - this.last >= PROGRESS_INTERVAL_MS) {
      this.last = now;
      this.report(this.bytes);
    }
    cb(null, chunk);
  }
}

/**
 * Stream src → verify(desc) [→ decompress → verify(target)] → dest.putBlob(target).
 * Returns the number of bytes the destination received.
 */
async function streamBlob(src: ImageSource, dest: ImageDestination, desc: Descriptor, target: Descriptor, decompress?: 'gzip' | 'zstd', onBytes?: (bytes: number) => void, absent?: boolean, signal?: AbortSignal): Promise<number> {
  let input!: Readable;
  let out!: PassThrough;
  let last!: DigestVerifier;
  let feeding!: Promise<void>;
  // One read of the source through its checks; a destination that must send the blob again
  // (a streamed upload that failed half-way) gets a new one, and the abandoned one is let go.
  const open = async (): Promise<Readable> => {
    signal?.throwIfAborted(); // also no second attempt after an abort cut the first one off
    const stages: Transform[] = [...(onBytes ? [new ByteCounter(onBytes)] : []), new DigestVerifier(desc, src.reference, { sizeOnly: !decompress && dest.checksDigests })];
    last = stages[stages.length - 1] as DigestVerifier;
    if (decompress) {
      stages.push(decompressor(decompress, src.reference));
      last = new DigestVerifier(target, `${src.reference} (uncompressed layer)`);
      stages.push(last);
    }
    input = await src.getBlob(desc);
    out = new PassThrough();
    feeding = pipeline([input, ...stages, out], { signal });
    // Looked at once the destination is done (below); until then a failure must not count as unhandled.
    feeding.catch(() => undefined);
    return out;
  };
  const first = await open();
  const reopen = async (): Promise<Readable> => {
    input.destroy();
    out.destroy();
    return open();
  };
  // The last stage verifies `target`: a mismatch ends `out` with an error, never cleanly.
  const putting = dest.putBlob(target, first, { verified: true, reopen, ...(absent ? { absent } : {}) });
  // A destination that gives up stops reading; tear the source side down so the pipeline ends too.
  putting.catch(() => {
    input.destroy();
    out.destroy();
  });
  // Wait for both sides to settle, so the destination has removed its temp file before we return
  // (the destination first: until it is done, it may still start another read).
  const [put] = await Promise.allSettled([putting]);
  const [fed] = await Promise.allSettled([feeding]);
  const settled = [fed, put];
  if (put.status === 'fulfilled' && fed.status === 'rejected' && (fed.reason as NodeJS.ErrnoException)?.code === 'ERR_STREAM_PREMATURE_CLOSE') {
    // The destination finished without reading it all (a registry mounted the blob from a sibling
    // repository, or found it already there): the blob is in place, so this is success.
    input.destroy();
    return target.size >= 0 ? target.size : last.bytes;
  }
  const errors = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (errors.length > 0) {
    const e = errors.find((x) => x instanceof UserError) ?? errors[0];
    if (decompress && e instanceof Error && (e as NodeJS.ErrnoException).code?.startsWith('Z_')) {
      // Corrupt bytes usually trip the decompressor before the digest check at the end; re-read the
      // blob once so the user hears "digest mismatch" when that is the real cause.
      await pipeline(await src.getBlob(desc), new DigestVerifier(desc, src.reference), new Writable({ write: (_c, _e, cb) => cb() }));
      throw new UserError(`${src.reference}: layer ${desc.digest} is not valid ${decompress} data: ${e.message}`, { cause: e });
    }
    throw e;
  }
  return last.bytes;
}

export async function copyImage(src: ImageSource, dest: ImageDestination, opts: CopyOptions = {}): Promise<CopyResult> {
  const progress = opts.onProgress ?? (() => {});
  const m = await src.getManifest(opts.platform);
  const srcFormat = manifestFormatOf(m.mediaType);
  if (!srcFormat) {
    const why = m.mediaType === DOCKER_SCHEMA1 || m.mediaType === DOCKER_SCHEMA1_SIGNED ? 'Docker schema 1 images are not supported' : `unsupported manifest type ${JSON.stringify(m.mediaType)}`;
    throw new UserError(`${src.reference}: ${why}`);
  }
  const manifest = parseJsonFrom<ImageManifest>(m.bytes, `${src.reference}: manifest`);
  if (!manifest.config?.digest || !Array.isArray(manifest.layers)) throw new UserError(`${src.reference}: manifest has no config or layers`);
  const format = chooseFormat(m.mediaType, dest, opts.format);

  // Whether the destination has each blob is asked for all of them at once, before the
  // config is read: a warm push to a registry is one round of HEADs whatever the layer count (only
  // uploads are bounded, below).
  const asked = [manifest.config, ...manifest.layers].map((d) => (dest.wantsUncompressedLayers && d !== manifest.config && layerCompression(d.mediaType) !== 'none' ? undefined : dest.hasBlob(d)));
  for (const a of asked) a?.catch(() => undefined); // each is awaited below, or given up with the copy
  // Pushing an image the destination already holds under this reference (CI re-pushing an unchanged
  // image) writes no manifest either, as google/containerregistry's pusher does: asked in the same
  // round, for the source's own bytes, and believed only if no blob had to be uploaded. An answer
  // that cannot be had is a no: the manifest is written.
  const alreadyTagged = format === srcFormat && !dest.wantsUncompressedLayers ? dest.hasManifest?.(m).catch(() => false) : undefined;
  let uploaded = false;

  // The manifest was only parsed so far: it is verified before anything but those HEADs is sent
  // (a wrong one sends nothing else), and the config when it is needed. A warm push, whose
  // destination holds every blob and the manifest, sends nothing, so it reads no config and hashes
  // nothing: node:crypto alone costs ~5 ms of its start on a slow machine.
  let manifestVerified = false;
  const verifyManifest = (): void => {
    if (!manifestVerified) verifyBytes(m.bytes, { digest: m.digest }, src.reference);
    manifestVerified = true;
  };
  // The config is small and needed whole (diff_ids), so it is read into memory and verified there,
  // after the manifest that names it.
  let configRead: Promise<Buffer> | undefined;
  const config = (): Promise<Buffer> =>
    (configRead ??= (async () => {
      verifyManifest();
      const bytes = await readAll(await src.getBlob(manifest.config));
      verifyBytes(bytes, manifest.config, src.reference);
      return bytes;
    })());
  const configCopied = (async () => {
    if (await asked[0]!) {
      progress({ kind: 'blob', phase: 'skipped', digest: manifest.config.digest, size: manifest.config.size, mediaType: manifest.config.mediaType });
    } else {
      const configBytes = await config();
      uploaded = true;
      const c = manifest.config;
      // Reported like a layer (skopeo's "Copying config"), so event consumers see every blob written.
      progress({ kind: 'blob', phase: 'started', digest: c.digest, size: c.size, mediaType: c.mediaType });
      await dest.putBlob(c, Readable.from([configBytes]), { verified: true, absent: true });
      progress({ kind: 'blob', phase: 'done', digest: c.digest, size: c.size, mediaType: c.mediaType });
    }
  })();

  let diffIds: string[] | undefined;
  const layersCopied = mapLimit(manifest.layers, opts.concurrency ?? 3, async (layer, i): Promise<Descriptor> => {
    opts.signal?.throwIfAborted();
    const compression = layerCompression(layer.mediaType);
    if (dest.wantsUncompressedLayers && compression !== 'none') {
      diffIds ??= parseJsonFrom<ImageConfig>(await config(), `${src.reference}: config`).rootfs?.diff_ids ?? [];
      const diffId = diffIds[i];
      if (!diffId || diffIds.length !== manifest.layers.length) throw new UserError(`${src.reference}: config has ${diffIds.length} diff_ids for ${manifest.layers.length} layers`);
      const target: Descriptor = { mediaType: layerMediaType(srcFormat, 'none'), digest: diffId, size: -1 };
      progress({ kind: 'blob', phase: 'started', digest: layer.digest, size: layer.size, mediaType: layer.mediaType });
      target.size = await streamBlob(src, dest, layer, target, compression, (bytes) => progress({ kind: 'blob', phase: 'progress', digest: layer.digest, size: layer.size, mediaType: layer.mediaType, bytes }), undefined, opts.signal);
      // Reported under the source digest so 'started' and 'done' pair up (the stored blob is diffId).
      progress({ kind: 'blob', phase: 'done', digest: layer.digest, size: layer.size, mediaType: layer.mediaType, bytes: layer.size });
      return target;
    }
    if (await asked[i + 1]!) {
      progress({ kind: 'blob', phase: 'skipped', digest: layer.digest, size: layer.size, mediaType: layer.mediaType });
      return layer;
    }
    verifyManifest();
    uploaded = true;
    progress({ kind: 'blob', phase: 'started', digest: layer.digest, size: layer.size, mediaType: layer.mediaType });
    await streamBlob(src, dest, layer, layer, undefined, (bytes) => progress({ kind: 'blob', phase: 'progress', digest: layer.digest, size: layer.size, mediaType: layer.mediaType, bytes }), true, opts.signal);
    progress({ kind: 'blob', phase: 'done', digest: layer.digest, size: layer.size, mediaType: layer.mediaType });
    return layer;
  });
  // Both settle before anything is reported: a failed config must not leave layer uploads running.
  const [configDone, layersDone] = await Promise.allSettled([configCopied, layersCopied]);
  if (configDone.status === 'rejected') throw configDone.reason;
  if (layersDone.status === 'rejected') throw layersDone.reason;
  const layers = layersDone.value;

  // Keep the source's exact bytes when nothing changed, so the manifest digest survives the copy.
  const layersChanged = layers.some((l, i) => l !== manifest.layers[i]);
  let bytes = m.bytes;
  let mediaType = m.mediaType;
  if (layersChanged || format !== srcFormat) {
    const rewritten = convertManifest({ ...manifest, layers }, format);
    bytes = Buffer.from(JSON.stringify(rewritten));
    mediaType = manifestMediaType(format);
  }
  const manifestDigest = bytes === m.bytes ? m.digest : sha256(bytes);
  const unchanged = bytes === m.bytes && !uploaded && (await alreadyTagged) === true;
  opts.signal?.throwIfAborted();
  if (!unchanged) {
    verifyManifest();
    await dest.putManifest({ bytes, mediaType, digest: manifestDigest });
  }
  progress({ kind: 'manifest', digest: manifestDigest, mediaType, ...(unchanged ? { unchanged } : {}) });
  await dest.commit();
  return { manifestDigest, configDigest: manifest.config.digest };
}
