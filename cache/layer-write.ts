// entries → deterministic tar → (compressed) blob, hashing both forms while streaming.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { BlobStore } from './blobs.js';
import { compressor, layerMediaType } from './compression.js';
import { compareEntryPaths, normalizeEntryPath, type LayerEntry } from './layer-entry.js';
import { END_OF_ARCHIVE, encodeHeader, padding } from './tar-format.js';
import { writeChunk } from './streams.js';

export interface LayerWriteOptions {
  format?: 'oci' | 'docker';
  compression?: 'gzip' | 'zstd' | 'none';
  level?: number;
  /** SOURCE_DATE_EPOCH / --timestamp: every mtime later than this becomes this. */
  clampMtime?: number;
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
  const sorted = await sortEntries(entries);
  const diffHash = createHash('sha256');
  const z = compressor(compression, opts.level);

  const tarChunks = tarStream(sorted, opts.clampMtime);
  let blobSource: AsyncIterable<Uint8Array>;
  if (!z) {
    blobSource = (async function* () {
      for await (const c of tarChunks) {
        diffHash.update(c);
        yield c;
      }
    })();
  } else {
    blobSource = compressed(tarChunks, z, (c) => diffHash.update(c));
  }
  const { digest, size } = await blobs.ingest(blobSource);
  return { diffID: 'sha256:' + diffHash.digest('hex'), digest, size, mediaType };
}

/**
 * Collects entry metadata (never file contents) and sorts it, so the tar does not depend on the
 * order a directory walk happened to produce. Duplicate paths are a caller bug: the last one wins.
 */
async function sortEntries(entries: Iterable<LayerEntry> | AsyncIterable<LayerEntry>): Promise<LayerEntry[]> {
  const byPath = new Map<string, LayerEntry>();
  for await (const e of entries) {
    const path = normalizeEntryPath(e.path);
    if (path === '') continue; // the root itself is not a layer member
    byPath.set(path, { ...e, path });
  }
  return [...byPath.values()].sort((a, b) => compareEntryPaths(a.path, b.path));
}

async function* tarStream(entries: LayerEntry[], clamp: number | undefined): AsyncGenerator<Buffer> {
  for (const e of entries) {
    const mtime = clamp !== undefined && e.mtime > clamp ? clamp : e.mtime;
    const size = e.type === 'file' ? fileSize(e) : 0;
    yield encodeHeader({ ...e, size }, mtime);
    if (size === 0) continue;
    let written = 0;
    if (e.content && 'data' in e.content) {
      written = e.content.data.length;
      yield e.content.data;
    } else if (e.content && 'path' in e.content) {
      for await (const chunk of createReadStream(e.content.path, { end: size - 1 }) as AsyncIterable<Buffer>) {
        written += chunk.length;
        yield chunk;
      }
    }
    // The header already promised `size` bytes; a file that shrank would corrupt every later entry.
    if (written !== size) throw new Error(`layer entry ${e.path}: expected ${size} bytes of content, got ${written} (file changed while archiving?)`);
    yield padding(size);
  }
  yield END_OF_ARCHIVE;
}

function fileSize(e: LayerEntry): number {
  if (e.size !== undefined) return e.size;
  if (e.content && 'data' in e.content) return e.content.data.length;
  if (e.content) throw new Error(`layer entry ${e.path}: size is required for content from a host file`);
  return 0;
}

/** Feed `input` through the compressor `z`, observing each uncompressed chunk, and yield compressed output. */
async function* compressed(input: AsyncIterable<Buffer>, z: Duplex, observe: (c: Buffer) => void): AsyncGenerator<Uint8Array> {
  const feeding = (async () => {
    try {
      for await (const c of input) {
        observe(c);
        await writeChunk(z, c);
      }
      z.end();
    } catch (e) {
      z.destroy(e as Error);
    }
  })();
  try {
    for await (const c of z) yield c as Uint8Array;
  } finally {
    z.destroy();
    await feeding;
  }
}
