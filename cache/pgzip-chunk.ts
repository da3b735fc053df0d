// One chunk of a parallel gzip stream: raw deflate of the chunk by libdeflate (native/deflate.ts),
// compressed on its own and ended with a sync flush so the outputs of all chunks concatenate into one
// valid deflate stream. Pure and synchronous: it runs in worker threads, and inline for small layers.
//
// Why no dictionary (pigz primes each chunk with the 32 KiB before it): libdeflate has none, and it
// deflates 1.4–1.7 times as fast as zlib at level 1 while its output is still smaller (W1's 108 MB tar:
// 35.3 MB against zlib's 36.2 MB with dictionaries). A chunk's bytes now depend on the chunk alone.
import { createHash } from 'node:crypto';
import { deflateSyncFlush } from '../native/deflate.js';
import { zlibBuiltin } from '../oci/builtins.js';

export interface ChunkJob {
  data: Uint8Array;
  level: number;
}

export interface ChunkResult {
  out: Uint8Array;
  crc: number;
  /** True when the chunk was stored rather than deflated (it did not compress). */
  stored: boolean;
}

/** Stored/deflated is decided per quarter of a chunk, so a boundary between a text file and a
 * random one inside a chunk costs at most a quarter chunk of missed compression. */
const SEGMENTS = 4;
const PROBE = 16 * 1024;
/** Store a segment whose probe deflates to more than this fraction: deflating it costs CPU for nothing. */
const STORE_RATIO = 0.97;

/**
 * Does `data` look incompressible? Deflates a sample from its middle at level 1 (several times
 * faster than the real level) and compares sizes. Random and already-compressed data (images,
 * archives, media) say yes.
 */
export function looksIncompressible(data: Uint8Array): boolean {
  if (data.length < 4096) return false;
  const start = data.length > PROBE ? Math.floor((data.length - PROBE) / 2) : 0;
  const sample = data.subarray(start, start + PROBE);
  // Text and most binaries answer without the deflate: with at most 6 bits of order-0 entropy per
  // byte, a Huffman code alone (under 7 bits a byte) takes the sample well below STORE_RATIO, so the
  // probe could only say "compressible" too, and the output bytes are the same. Counting the bytes
  // costs less than deflating them.
  if (entropyBits(sample) <= SURELY_COMPRESSIBLE_BITS) return false;
  return deflateSyncFlush(sample, 1).length > sample.length * STORE_RATIO;
}

export const SURELY_COMPRESSIBLE_BITS = 6;

/** Order-0 entropy of `sample`, in bits per byte. */
function entropyBits(sample: Uint8Array): number {
  const counts = new Uint32Array(256);
  for (let i = 0; i < sample.length; i++) counts[sample[i]!]!++;
  let bits = 0;
  for (let b = 0; b < 256; b++) {
    const c = counts[b]!;
    if (c > 0) bits -= c * Math.log2(c / sample.length);
  }
  return bits / sample.length;
}

/** Room for `n` bytes stored: 5 bytes of header per 64 KiB block, the gzip wrapper, some slack. */
function outSize(n: number): number {
  return n + 5 * Math.ceil(n / 65535 + 1) + 64;
}

/** Largest stored block deflate allows. */
const MAX_STORED = 65535;

/**
 * `data` as stored deflate blocks ended by an empty one (the sync flush): byte for byte what zlib's
 * level 0 writes into an output buffer big enough for all of it (a test holds them equal), without
 * setting up a zlib stream for each run (~0.1 ms each, as much as copying the MiB itself).
 */
export function storedBlocks(data: Uint8Array): Buffer {
  const n = data.length;
  const out = Buffer.allocUnsafeSlow(n + 5 * Math.ceil(n / MAX_STORED) + 5);
  let o = 0;
  for (let off = 0; off < n; off += MAX_STORED) {
    const len = Math.min(MAX_STORED, n - off);
    // Not final, type 00, at a byte boundary (every run starts after a flush): one zero byte; then LEN and ~LEN.
    out[o] = 0;
    out.writeUInt16LE(len, o + 1);
    out.writeUInt16LE(len ^ 0xffff, o + 3);
    out.set(data.subarray(off, off + len), o + 5);
    o += 5 + len;
  }
  out.set(SYNC_MARKER, o);
  return out;
}

/** The empty stored block a sync flush ends with. */
const SYNC_MARKER = Buffer.from([0, 0, 0, 0xff, 0xff]);

function deflateRun(data: Uint8Array, level: number): Buffer {
  // Level 0 writes stored blocks: valid deflate at memcpy speed, 5 bytes per 64 KiB of overhead.
  return level === 0 ? storedBlocks(data) : deflateSyncFlush(data, level);
}

/**
 * CRC-32 of `data` by zlib's own crc32: zlib.crc32 on Node >= 20.15, else reached through a level-0
 * gzip of it, which is still about twice the speed of the best plain-JS CRC (pgzip-crc32.ts).
 */
export function nativeCrc32(data: Uint8Array): number {
  // zlib.crc32 where Node has it (>= 20.15): no copy of the chunk and no zlib stream to set up.
  const zlib = zlibBuiltin();
  const zlibCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  if (zlibCrc32) return zlibCrc32(data, 0) >>> 0;
  // One output buffer big enough for all of it: zlib's default 16 KiB pieces would be concatenated.
  const g = zlib.gzipSync(data, { level: 0, chunkSize: outSize(data.length) });
  return g.readUInt32LE(g.length - 8);
}

/** What a chunk becomes. Its bytes are remembered across layers by chunkKey(): a change to what this
 * writes for a given input must change KEY_SALT below. */
export function deflateChunk(job: ChunkJob): ChunkResult {
  const { data, level } = job;
  const crc = nativeCrc32(data);
  if (level === 0) return { out: deflateRun(data, 0), crc, stored: true };
  const seg = Math.ceil(data.length / SEGMENTS);
  const storeSeg: boolean[] = [];
  for (let off = 0; off < data.length; off += seg) storeSeg.push(looksIncompressible(data.subarray(off, off + seg)));
  if (storeSeg.every((x) => !x)) return { out: deflateRun(data, level), crc, stored: false };
  // Runs of segments with the same decision, each flushed so the pieces still concatenate.
  const outs: Buffer[] = [];
  for (let i = 0; i < storeSeg.length;) {
    let j = i;
    while (j < storeSeg.length && storeSeg[j] === storeSeg[i]) j++;
    const from = i * seg;
    const to = Math.min(data.length, j * seg);
    outs.push(deflateRun(data.subarray(from, to), storeSeg[i] ? 0 : level));
    i = j;
  }
  return { out: Buffer.concat(outs), crc, stored: storeSeg.every((x) => x) };
}

/** What else decides a chunk's bytes: this writer's format and the deflate that runs (vendored, so fixed). */
const KEY_SALT = 'pgzip-chunk 2\nlibdeflate 1.14 sync-flush\n';

/** The identity of a chunk's deflated bytes (what pgzip-reuse.ts remembers them by). */
export function chunkKey(level: number, data: Uint8Array): string {
  return createHash('sha256').update(`${KEY_SALT}level ${level}\n`).update(data).digest('hex');
}
