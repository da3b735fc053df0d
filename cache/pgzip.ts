// Parallel gzip that stays one ordinary gzip stream (pigz's method): the input is cut into fixed
// 1 MiB chunks, each deflated on its own by a worker thread (libdeflate, no dictionary: see
// pgzip-chunk.ts) and ended with a sync flush; the outputs are concatenated in order behind one gzip
// header, then an empty final block and the trailer with the CRC-32 combined from the chunks' CRCs.
// Any gunzip reads it. The bytes depend only on the input and the level — never on how many workers
// ran — so layer digests stay reproducible across machines. Incompressible chunks are stored (see pgzip-chunk.ts).
// The calling thread deflates chunks too when the workers are busy, and with a memo (pgzip-reuse.ts)
// a chunk compressed for an earlier layer is taken from that layer's blob instead.
import { availableParallelism } from 'node:os';
import { extname, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { chunkKey, deflateChunk, nativeCrc32, type ChunkResult } from './pgzip-chunk.js';
import { crc32Combine } from './pgzip-crc32.js';
import { workerThreadsBuiltin } from '../oci/builtins.js';
import type { ChunkMemo } from './pgzip-reuse.js';

/** Chunk size: big enough that messaging costs nothing, small enough that 2 cores share a 3 MiB layer. */
export const CHUNK = 1 << 20;

const here = fileURLToPath(import.meta.url);
const WORKER_FILE = join(dirname(here), 'pgzip-worker' + extname(here));

/**
 * Compiled (dist/), the worker is a plain .js file. Run from TypeScript sources under tsx (the unit
 * tests), a worker does not inherit tsx's loader on Node 20, so a tiny bootstrap registers it first.
 */
function newWorker(): Worker {
  // A worker only runs zlib on buffers it is handed: a small JS heap keeps each one's memory low.
  const resourceLimits = { maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 4 };
  const { Worker } = workerThreadsBuiltin();
  if (WORKER_FILE.endsWith('.js')) return new Worker(WORKER_FILE, { resourceLimits });
  const url = JSON.stringify(pathToFileURL(WORKER_FILE).href);
  return new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${url}); })`, { eval: true });
}

/** A chunk's result, with its memo key and the CRC of its bytes when the chunk was keyed. */
type KeyedResult = ChunkResult & { key?: string; outCrc?: number };

/** What a worker answers: the deflated chunk, or (`hit`) the key of a chunk its memo has, with the input back. */
type PoolResult = KeyedResult | { hit: true; key: string; crc: number; data: Uint8Array; lent: boolean };

interface WorkerReply {
  id: number;
  out?: Uint8Array;
  crc?: number;
  stored?: boolean;
  key?: string;
  outCrc?: number;
  hit?: boolean;
  data?: Uint8Array;
  error?: string;
}

interface Pending {
  resolve(r: PoolResult): void;
  reject(e: Error): void;
}

/** A few long-lived workers shared by every layer a process writes; idle, they do not keep it alive. */
class Pool {
  private workers: Worker[] = [];
  private pending = new Map<number, Pending>();
  private nextId = 0;
  private rr = 0;
  private busy = 0;

  constructor(readonly size: number) {}

  private start(): void {
    for (let i = 0; i < this.size; i++) {
      const w = newWorker();
      w.on('message', (m: WorkerReply) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        const lent = this.lent.delete(m.id);
        if (--this.busy === 0) for (const x of this.workers) x.unref();
        if (m.error !== undefined) p.reject(new Error(`gzip worker: ${m.error}`));
        else if (m.hit) p.resolve({ hit: true, key: m.key!, crc: m.crc!, data: m.data!, lent });
        else {
          if (lent && m.data) recycle(m.data);
          p.resolve({ out: m.out!, crc: m.crc!, stored: m.stored!, key: m.key, outCrc: m.outCrc });
        }
      });
      w.on('error', (e) => this.failAll(e));
      w.on('exit', () => {
        this.workers = this.workers.filter((x) => x !== w);
        this.failAll(new Error('gzip worker exited'));
      });
      w.unref();
      this.workers.push(w);
    }
  }

  private failAll(e: Error): void {
    this.lent.clear();
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.busy = 0;
  }

  /** Jobs whose input is one of chunkBuffer()'s: it comes back with the result, to be reused. */
  private readonly lent = new Set<number>();

  warm(): void {
    if (this.workers.length === 0) this.start();
  }

  private nextStream = 0;

  /** Tell every worker the keys a memo knows: their chunks are answered by key, not deflated. */
  openStream(keys: string[]): number {
    this.warm();
    const stream = this.nextStream++;
    for (const w of this.workers) w.postMessage({ kind: 'known', stream, keys });
    return stream;
  }

  closeStream(stream: number): void {
    for (const w of this.workers) w.postMessage({ kind: 'forget', stream });
  }

  /** Deflate a chunk on a worker; with `stream`, the worker first keys it and answers a known key instead. */
  run(data: Uint8Array, level: number, stream?: number): Promise<PoolResult> {
    if (this.workers.length === 0) this.start();
    const id = this.nextId++;
    if (pooled.has(data)) this.lent.add(id);
    const w = this.workers[this.rr++ % this.workers.length]!;
    if (this.busy++ === 0) for (const x of this.workers) x.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // The chunk's memory moves to the worker. A view into a bigger buffer is copied first:
      // posting it would clone the whole buffer behind it.
      const own = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : Uint8Array.prototype.slice.call(data);
      w.postMessage({ id, data: own, level, stream }, [own.buffer as ArrayBuffer]);
    });
  }
}

/**
 * CHUNK-size buffers for the tar writer, reused once deflated: a layer of a GiB otherwise allocates
 * a thousand, and each new one is external memory that drives V8 into another full GC.
 */
const spare: Buffer[] = [];
const MAX_SPARE = 8;
/** Buffers handed out by chunkBuffer() (only those may be reused: a caller's own are left alone). */
const pooled = new WeakSet<Uint8Array>();

/** A CHUNK-size buffer to fill and pass to pgzip(), which takes it back when done with it. */
export function chunkBuffer(): Buffer {
  const b = spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
  pooled.add(b);
  return b;
}

function recycle(data: Uint8Array): void {
  if (spare.length >= MAX_SPARE || data.byteOffset !== 0 || data.byteLength !== CHUNK || data.buffer.byteLength !== CHUNK) return;
  spare.push(Buffer.from(data.buffer, 0, CHUNK));
}

let pool: Pool | undefined;

/**
 * Start the gzip workers now, for input known to span several chunks: a worker takes tens of
 * milliseconds to boot, which then overlaps the caller's own preparation instead of the first chunks.
 */
export function warmGzip(): void {
  sharedPool().warm();
}

function sharedPool(): Pool {
  // One worker per core but one: the main thread is busy too (reading files, SHA-256 of the tar and
  // of the blob, writing), so on 2 cores one worker keeps both cores full without a third thread
  // competing, and without a second V8 isolate's ~25 MiB. TSBUILD_COMPRESS_THREADS overrides.
  const env = Number(process.env['TSBUILD_COMPRESS_THREADS']);
  const n = Number.isInteger(env) && env > 0 ? env : availableParallelism() - 1;
  pool ??= new Pool(Math.max(1, Math.min(n, 8)));
  return pool;
}

/** gzip's 10-byte header as zlib writes it (mtime 0, no name, OS unix), so the bytes are host-independent. */
function header(level: number): Buffer {
  const xfl = level === 9 ? 2 : level === 1 ? 4 : 0;
  return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]);
}

/** An empty final block (fixed Huffman, end-of-block only): what ends the chain of sync-flushed chunks. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

/** Fixed-size chunks out of arbitrarily sized input buffers (chunk boundaries must not depend on them). */
async function* rechunk(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let cur: Uint8Array | undefined;
  let fill = 0;
  for await (const buf of input) {
    if (!cur && buf.length === CHUNK) {
      yield buf; // the tar writer already produces exact chunks: pass them through uncopied
      continue;
    }
    let off = 0;
    while (off < buf.length) {
      cur ??= Buffer.allocUnsafeSlow(CHUNK);
      const n = Math.min(CHUNK - fill, buf.length - off);
      cur.set(buf.subarray(off, off + n), fill);
      fill += n;
      off += n;
      if (fill === CHUNK) {
        yield cur;
        cur = undefined;
        fill = 0;
      }
    }
  }
  if (cur && fill > 0) yield cur.subarray(0, fill);
}

export interface PgzipOptions {
  level?: number;
  /** Force inline compression (no worker threads). */
  inline?: boolean;
  /** Chunks deflated before are taken from it, and every chunk's place is noted in it (pgzip-reuse.ts). */
  memo?: ChunkMemo;
}

/** A chunk being compressed; `done` once its result can be taken without waiting. */
interface Slot {
  job: Promise<KeyedResult>;
  len: number;
  done: boolean;
}

/**
 * Gzip `input` into one gzip member, in parallel when it is bigger than one chunk. This thread
 * compresses too: when the workers already have enough queued it deflates the next chunk itself
 * instead of waiting for them (with one worker on 2 cores it used to sit idle a third of a layer
 * write). Which thread deflates a chunk never changes its bytes.
 */
export async function* pgzip(input: AsyncIterable<Uint8Array>, opts: PgzipOptions = {}): AsyncGenerator<Uint8Array> {
  const level = opts.level ?? 6;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new RangeError(`gzip level must be 0–9, got ${level}`);
  const head = header(level);
  yield head;
  let crc = 0;
  let total = 0;
  /** Bytes of output so far: where the next chunk's bytes start. */
  let written = head.length;
  const inFlight: Slot[] = [];
  const memo = opts.memo;
  // CRCs combine in stream order, which is the order results are taken, not the order workers finish.
  const take = async (): Promise<Uint8Array> => {
    const { job, len } = inFlight.shift()!;
    const r = await job;
    crc = crc32Combine(crc, r.crc, len);
    total += len;
    if (r.key !== undefined) memo!.note(r.key, written, r.out.length, r.crc, r.outCrc ?? nativeCrc32(r.out));
    written += r.out.length;
    return r.out;
  };
  const p = opts.inline ? undefined : sharedPool();
  // Two jobs queued per worker keep it busy while its last result travels back.
  const workerDepth = p ? 2 * p.size : 0;
  // Plus results this thread made that wait behind a worker's: bounds the memory held.
  const maxInFlight = workerDepth + 2;
  let atWorkers = 0;
  // With a memo, chunks are keyed where they are compressed (a SHA-256 pass over the input: on the
  // workers, not all on this thread), and known keys are answered from the memo.
  const stream = memo && p ? p.openStream(memo.keys()) : undefined;
  /** This thread's own chunks: keyed and looked up here, else deflated. */
  const compressHere = (data: Uint8Array): KeyedResult => {
    const key = memo ? chunkKey(level, data) : undefined;
    const known = key !== undefined ? memo!.find(key) : undefined;
    if (known && known.crc === nativeCrc32(data)) return { ...known, stored: false, key };
    const r = deflateChunk({ data, level });
    return key !== undefined ? { ...r, key, outCrc: nativeCrc32(r.out) } : r;
  };
  /** A worker's answer: a known key becomes the memo's bytes (or, should they be unreadable, a deflate here). */
  const fromWorker = (r: PoolResult): KeyedResult => {
    if (!('hit' in r)) return r;
    const known = memo!.find(r.key);
    let out: KeyedResult;
    if (known && known.crc === r.crc) out = { ...known, stored: false, key: r.key };
    else {
      const d = deflateChunk({ data: r.data, level });
      out = { ...d, key: r.key, outCrc: nativeCrc32(d.out) };
    }
    if (r.lent) recycle(r.data);
    return out;
  };
  const chunks = rechunk(input);
  let first = true;
  let lookahead = await chunks.next();
  try {
    while (!lookahead.done) {
      const data = lookahead.value;
      lookahead = await chunks.next();
      const len = data.length;
      // A layer of one chunk is compressed right here: starting workers would cost more than it saves.
      const single = first && lookahead.done;
      first = false;
      if (!p || single || atWorkers >= workerDepth) {
        inFlight.push({ job: Promise.resolve(compressHere(data)), len, done: true });
        if (pooled.has(data)) recycle(data);
      } else {
        atWorkers++;
        const sent = p.run(data, level, stream);
        const slot: Slot = { job: sent.then(fromWorker), len, done: false };
        const settle = () => {
          slot.done = true;
          atWorkers--;
        };
        slot.job.then(settle, settle);
        inFlight.push(slot);
      }
      // Pass on what is ready, in order; wait only when too much is pending or at the end.
      while (inFlight.length > 0 && (inFlight[0]!.done || inFlight.length >= maxInFlight || lookahead.done)) yield await take();
    }
  } finally {
    // On an error downstream, let the outstanding jobs settle so no rejection goes unhandled.
    await Promise.allSettled(inFlight.map((f) => f.job));
    if (stream !== undefined) p!.closeStream(stream);
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(total % 2 ** 32, 4);
  yield Buffer.concat([FINAL_BLOCK, trailer]);
}
