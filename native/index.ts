// TypeScript face of the native addon (native/build/Release/tsbuild_native.node)
// and of the container runtime helper (native/build/Release/tsbuild-run).
//
// The build output lives in <repo>/native/build/Release whether this module is
// loaded from source (<repo>/native/index.ts via tsx) or compiled
// (<repo>/dist/native/index.js). TSBUILD_NATIVE_DIR overrides the directory.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Directory holding tsbuild_native.node and tsbuild-run. */
export function nativeBuildDir(): string {
  const override = process.env['TSBUILD_NATIVE_DIR'];
  if (override) return override;
  const candidates = [
    join(here, 'build', 'Release'), // <repo>/native (source)
    join(here, '..', '..', 'native', 'build', 'Release'), // <repo>/dist/native (compiled)
  ];
  return candidates.find((c) => existsSync(join(c, 'tsbuild_native.node'))) ?? candidates[0]!;
}

interface Addon {
  mknod(path: string, mode: number, major: number, minor: number): void;
  lgetxattr(path: string, name: string): Buffer | undefined;
  lsetxattr(path: string, name: string, value: Buffer): void;
  llistxattr(path: string): string[];
  lremovexattr(path: string, name: string): void;
}

let addon: Addon | undefined;
let loadError: Error | undefined;

function load(): Addon {
  if (addon) return addon;
  if (loadError) throw loadError;
  const file = join(nativeBuildDir(), 'tsbuild_native.node');
  try {
    const require = createRequire(import.meta.url);
    addon = require(file) as Addon;
    return addon;
  } catch (e) {
    const err = new Error(
      `tsbuild native addon not available (${file}): ${(e as Error).message}; run "npm run build:native"`,
    ) as NodeJS.ErrnoException;
    err.code = 'ERR_TSBUILD_NATIVE_MISSING';
    loadError = err;
    throw err;
  }
}

/** True when the compiled addon could be loaded. */
export function nativeAvailable(): boolean {
  try {
    load();
    return true;
  } catch {
    return false;
  }
}

/**
 * mknod(2). `mode` includes the file type (fs.constants.S_IFCHR etc.) and permission bits.
 * A whiteout is `mknod(p, S_IFCHR | 0o000, 0, 0)`.
 */
export function mknod(path: string, mode: number, major: number, minor: number): void {
  load().mknod(path, mode, major, minor);
}

/** lgetxattr(2); undefined when the attribute does not exist (ENODATA). */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  return load().lgetxattr(path, name);
}

/** lsetxattr(2) with flags 0 (create or replace). */
export function lsetxattr(path: string, name: string, value: Buffer): void {
  load().lsetxattr(path, name, value);
}

/** llistxattr(2): attribute names (only those visible to the caller). */
export function llistxattr(path: string): string[] {
  return load().llistxattr(path);
}

/** lremovexattr(2). */
export function lremovexattr(path: string, name: string): void {
  load().lremovexattr(path, name);
}
