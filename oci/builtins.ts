// Node built-ins that only some runs need, loaded on first use. A static import loads a module (and
// what it needs: child_process brings net and dgram) when the CLI bundle starts, for every command:
// worker_threads, zlib and child_process together cost a no-op rebuild ~6 ms of its ~125 ms, though
// it compresses nothing and starts no process.
import type * as childProcessModule from 'node:child_process';
import { createRequire } from 'node:module';
import type * as workerThreadsModule from 'node:worker_threads';
import type * as zlibModule from 'node:zlib';

const load = createRequire(import.meta.url);

let zlib: typeof zlibModule | undefined;
let childProcess: typeof childProcessModule | undefined;
let workerThreads: typeof workerThreadsModule | undefined;

export function zlibBuiltin(): typeof zlibModule {
  return (zlib ??= load('node:zlib') as typeof zlibModule);
}

export function childProcessBuiltin(): typeof childProcessModule {
  return (childProcess ??= load('node:child_process') as typeof childProcessModule);
}

export function workerThreadsBuiltin(): typeof workerThreadsModule {
  return (workerThreads ??= load('node:worker_threads') as typeof workerThreadsModule);
}
