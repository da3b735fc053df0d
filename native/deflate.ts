// TypeScript face of tsbuild_deflate.node (native/src/deflate.cc): libdeflate's raw DEFLATE of one
// chunk of a parallel gzip stream, ended by a sync flush. Loaded on first use, in whichever thread
// deflates (the gzip workers and the main thread each load it once).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { nativeBuildDir, nativeMissing } from './build-dir.js';

interface DeflateAddon {
  deflateSync(data: Uint8Array, level: number): Buffer;
}

let addon: DeflateAddon | undefined;

/**
 * `data` as raw DEFLATE blocks at `level` (1–12), none of them final, ended by an empty stored
 * block: outputs for consecutive pieces of an input concatenate into one stream, which the caller
 * ends with a final block. Each piece is compressed on its own. Same input and level, same bytes.
 */
export function deflateSyncFlush(data: Uint8Array, level: number): Buffer {
  if (!addon) {
    const file = join(nativeBuildDir(), 'tsbuild_deflate.node');
    try {
      addon = createRequire(import.meta.url)(file) as DeflateAddon;
    } catch (e) {
      throw nativeMissing(file, e);
    }
  }
  return addon.deflateSync(data, level);
}
