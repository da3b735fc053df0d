// entries → deterministic tar → (compressed) blob, in one pass over each file: its bytes are read
// once, straight into the tar block that carries them, and that block is hashed (diffID), handed to
// the compressor (parallel gzip or zstd) and the compressed output hashed (digest) and written, all
// streaming. Memory stays a few MiB whatever the layer size.
import { createHash } from 'node:crypto';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import type { BlobStore } from './blobs.js';
import { compress, checkLevel, layerMediaType } from './compression.js';
import { compareEntryPaths, normalizeEntryPath, type LayerEntry } from './layer-entry.js';
import { CHUNK, chunkBuffer, warmGzip } from './pgzip.js';
import { ChunkReuse } from './pgzip-reuse.js';
import { BLOCK, END_OF_ARCHIVE, encodeHeader, writePlainHeader } from './tar-format.js';

export interface LayerWriteOptions {
  format?: 'oci' | 'docker';
  compression?: 'gzip' | 'zstd' | 'none';
  /** gzip 0–9 (default 1), zstd 1–19 (default 3). */
  level?: number;
  /** SOURCE_DATE_EPOCH / --timestamp: every mtime later than this becomes this. */
  clampMtime?: number;
  /**
   * Take gzip chunks compressed for earlier layers from their blobs (default true). A build with
   * --no-cache passes false: the user asked for no cache, and a compression memo is one.
   */
  reuseChunks?: boolean;
  /** Stops writing (the partial blob is dropped): a multi-GB COPY must not outlast a Ctrl-C. */
  signal?: AbortSignal;
}

export interface LayerBlob {
  diffID: string;
  digest: string;
  size: number;
  mediaType: string;
}

export async function writeLayer(
  entries: Iterable<LayerEntry> | AsyncIterable<LayerEntry>,
  blobs: BlobStore,
  opts: LayerWriteOptions = {},
): Promise<LayerBlob> {
  const compression = opts.compression ?? 'gzip';
  const mediaType = layerMediaType(opts.format ?? 'oci', compression);
  checkLevel(compression, opts.level);
  const sorted = await sortEntries(entries);
  const multiChunk = compression === 'gzip' && contentSize(sorted) > CHUNK;
  if (multiChunk) warmGzip();
  // Chunks compressed for an earlier layer are taken from its blob (an edit-rebuild recompresses
  // one chunk, not the whole layer). --no-cache (reuseChunks false) or TSBUILD_GZIP_REUSE=0 turns it off.
  const reuse = opts.reuseChunks !== false && process.env['TSBUILD_GZIP_REUSE'] !== '0';
  const memo = multiChunk && reuse ? await ChunkReuse.open(blobs) : undefined;
  const diffHash = createHash('sha256');
  const tar = (async function* () {
    for (const block of tarBlocks(sorted, opts.clampMtime)) {
      opts.signal?.throwIfAborted();
      diffHash.update(block);
      yield block;
      // Give the event loop a turn between blocks: reads here are synchronous (see tarBlocks).
      await new Promise<void>((r) => setImmediate(r));
    }
  })();
  const blobSource = compress(tar, compression, opts.level, memo) ?? tar;
  let stored: { digest: string; size: number };
  try {
    stored = await blobs.ingest(blobSource);
  } catch (e) {
    memo?.close();
    throw e;
  }
  const { digest, size } = stored;
  await memo?.save(digest);
  return { diffID: 'sha256:' + diffHash.digest('hex'), digest, size, mediaType };
}

/**
 * Collects entry metadata (never file contents) and sorts it, so the tar does not depend on the
 * order a directory walk happened to produce. Duplicate paths are a caller bug: the last one wins.
 */
async function sortEntries(entries: Iterable<LayerEntry> | AsyncIterable<LayerEntry>): Promise<LayerEntry[]> {
  const byPath = new Map<string, LayerEntry>();
  const add = (e: LayerEntry): void => {
    const path = normalizeEntryPath(e.path);
    if (path === '') return; // the root itself is not a layer member
    byPath.set(path, path === e.path ? e : { ...e, path }); // no copy of 20,000 entries that are already clean
  };
  // An array is walked as one: `for await` would take a microtask per entry.
  if (Array.isArray(entries)) for (const e of entries as LayerEntry[]) add(e);
  else for await (const e of entries) add(e);
  return [...byPath.values()].sort((a, b) => compareEntryPaths(a.path, b.path));
}

/**
 * The tar as fixed CHUNK-size blocks (the last one shorter). File contents are read with plain
 * synchronous reads directly into the block: for trees of small files that is several times faster
 * than a stream per file (each a handful of thread-pool round trips), and a 1 MiB read blocks the
 * event loop for well under a millisecond. Blocks are whole buffers of their own (chunkBuffer) so the
 * gzip writer can move them to its workers without copying, and hand them back for reuse.
 */
function* tarBlocks(entries: LayerEntry[], clamp: number | undefined): Generator<Buffer> {
  let block = chunkBuffer();
  let fill = 0;
  function* put(data: Uint8Array): Generator<Buffer> {
    let off = 0;
    while (off < data.length) {
      const n = Math.min(CHUNK - fill, data.length - off);
      block.set(data.subarray(off, off + n), fill);
      fill += n;
      off += n;
      if (fill === CHUNK) {
        yield block;
        block = chunkBuffer();
        fill = 0;
      }
    }
  }
  for (const e of entries) {
    const mtime = clamp !== undefined && e.mtime > clamp ? clamp : e.mtime;
    const size = e.type === 'file' ? fileSize(e) : 0;
    // Everything is written in whole 512-byte records and CHUNK is a multiple of them, so `fill` is
    // one too here and a one-record header always fits in the block: written in place.
    if (writePlainHeader(block, fill, e, size, mtime)) {
      fill += BLOCK;
      if (fill === CHUNK) {
        yield block;
        block = chunkBuffer();
        fill = 0;
      }
    } else {
      yield* put(encodeHeader({ ...e, size }, mtime));
    }
    if (size === 0) continue;
    if (e.content && 'data' in e.content) {
      if (e.content.data.length !== size) throw new Error(`layer entry ${e.path}: expected ${size} bytes of content, got ${e.content.data.length}`);
      yield* put(e.content.data);
    } else if (e.content && 'path' in e.content) {
      // Non-blocking: a file swapped for a FIFO since it was planned must fail below, not hang in open().
      const fd = openSync(e.content.path, constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        let pos = 0;
        while (pos < size) {
          const n = readSync(fd, block, fill, Math.min(CHUNK - fill, size - pos), pos);
          // The header already promised `size` bytes; a file that shrank would corrupt every later entry.
          if (n === 0) throw new Error(`layer entry ${e.path}: expected ${size} bytes of content, got ${pos} (file changed while archiving?)`);
          pos += n;
          fill += n;
          if (fill === CHUNK) {
            yield block;
            block = chunkBuffer();
            fill = 0;
          }
        }
      } finally {
        closeSync(fd);
      }
    }
    // Padding to the next record boundary, which is at most the end of the block.
    const rem = size % BLOCK;
    if (rem !== 0) {
      block.fill(0, fill, fill + BLOCK - rem);
      fill += BLOCK - rem;
      if (fill === CHUNK) {
        yield block;
        block = chunkBuffer();
        fill = 0;
      }
    }
  }
  yield* put(END_OF_ARCHIVE);
  if (fill > 0) yield block.subarray(0, fill);
}

/** Bytes of file data in the entries (headers aside): at least what the tar will hold. */
function contentSize(entries: LayerEntry[]): number {
  let n = 0;
  for (const e of entries) if (e.type === 'file') n += e.size ?? (e.content && 'data' in e.content ? e.content.data.length : 0);
  return n;
}

function fileSize(e: LayerEntry): number {
  if (e.size !== undefined) return e.size;
  if (e.content && 'data' in e.content) return e.content.data.length;
  if (e.content) throw new Error(`layer entry ${e.path}: size is required for content from a host file`);
  return 0;
}
