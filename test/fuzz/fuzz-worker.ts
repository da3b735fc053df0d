// Worker side of runner.ts: runs fuzzLoop and writes each input into shared memory before running
// it, so the parent can name the input if this thread stops making progress (an infinite loop or a
// catastrophic regular expression cannot be interrupted from inside).
import { parentPort, workerData } from 'node:worker_threads';
import { fuzzLoop } from './fuzz-loop.js';

const { seed, ms, corpus, shared } = workerData as { seed: number; ms: number; corpus: string[]; shared: SharedArrayBuffer };
const header = new Int32Array(shared, 0, 2); // [length in bytes, iteration counter]
const body = new Uint8Array(shared, 8);
const enc = new TextEncoder();

const result = await fuzzLoop({
  seed,
  ms,
  corpus,
  onInput: (input) => {
    const { written } = enc.encodeInto(input, body);
    Atomics.store(header, 0, written);
    Atomics.add(header, 1, 1);
  },
});
parentPort!.postMessage(result);
