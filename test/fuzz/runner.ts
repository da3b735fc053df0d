// Runs the fuzz loop in a worker thread with a watchdog: if the worker makes no progress for
// `hangMs`, the input it is stuck on is reported as a hang and the worker is terminated.
import { Worker } from 'node:worker_threads';
import type { Failure } from './fuzz-loop.js';

export interface FuzzRun {
  iterations: number;
  failures: Failure[];
}

const SHARED_BYTES = 8 + 4 * 20_000 + 64;

export function runFuzz(opts: { seed: number; ms: number; corpus: string[]; hangMs?: number }): Promise<FuzzRun> {
  const hangMs = opts.hangMs ?? 5_000;
  const shared = new SharedArrayBuffer(SHARED_BYTES);
  const header = new Int32Array(shared, 0, 2);
  // Under tsx the sources are .ts; compiled, they are .js next to this file.
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const entry = new URL(`./fuzz-worker${ext}`, import.meta.url);
  const workerData = { seed: opts.seed, ms: opts.ms, corpus: opts.corpus, shared };
  // Workers do not inherit tsx's loader hooks: from sources, a bootstrap registers them first.
  const worker =
    ext === '.ts'
      ? new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`, { eval: true, workerData })
      : new Worker(entry, { workerData });
  return new Promise((resolve, reject) => {
    let last = -1;
    let lastChange = Date.now();
    const timer = setInterval(() => {
      const n = Atomics.load(header, 1);
      if (n !== last) {
        last = n;
        lastChange = Date.now();
        return;
      }
      if (Date.now() - lastChange < hangMs) return;
      clearInterval(timer);
      const len = Atomics.load(header, 0);
      const input = new TextDecoder().decode(new Uint8Array(shared, 8, len).slice());
      void worker.terminate();
      resolve({ iterations: n, failures: [{ input, reason: `no progress for ${hangMs} ms (hang or catastrophic backtracking)`, kind: 'frontend' }] });
    }, 250);
    worker.once('message', (r: FuzzRun) => {
      clearInterval(timer);
      void worker.terminate();
      resolve(r);
    });
    worker.once('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
  });
}
