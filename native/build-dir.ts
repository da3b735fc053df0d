// Where the native build output lives: <repo>/native/build/Release, whether this module is loaded
// from source (<repo>/native, via tsx) or compiled (<repo>/dist/native). TSBUILD_NATIVE_DIR
// overrides it. A module of its own so that the gzip worker threads can find their addon without
// loading the rest of native/index.ts.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Directory holding tsbuild_native.node, tsbuild_deflate.node and tsbuild-run. */
export function nativeBuildDir(): string {
  const override = process.env['TSBUILD_NATIVE_DIR'];
  if (override) return override;
  const candidates = [
    join(here, 'build', 'Release'), // <repo>/native (source)
    join(here, '..', '..', 'native', 'build', 'Release'), // <repo>/dist/native (compiled)
  ];
  // Without the addon, still the directory that has the other pieces (a partial build), else the
  // one a build makes (<repo>/native/build/Release), so messages name a real place.
  return (
    candidates.find((c) => existsSync(join(c, 'tsbuild_native.node'))) ??
    candidates.find((c) => existsSync(join(c, 'tsbuild-run'))) ??
    candidates.find((c) => existsSync(join(c, '..', '..', 'binding.gyp'))) ??
    candidates[0]!
  );
}

/** The error every missing piece of the native build raises: one line that says how to make it. */
export function nativeMissing(file: string, cause: unknown): NodeJS.ErrnoException {
  const err = new Error(
    `tsbuild native build incomplete (${file}): ${(cause as Error).message}; run "npm run build:native" in a clone of tsbuild`,
  ) as NodeJS.ErrnoException;
  err.code = 'ERR_TSBUILD_NATIVE_MISSING';
  return err;
}
