// Small filesystem helpers shared by the stores: atomic writes and pid-tagged temp names.
import { constants as fsConstants, lstatSync, promises as fsp, type Stats } from 'node:fs';
import type { LayerEntryType } from './layer-entry.js';
import { join } from 'node:path';
import { randomHex } from '../oci/crypto.js';

/**
 * Temp entries are named `<pid>-<prefix>-<random>` so that openStore can tell which leftovers belong
 * to dead processes (and may be removed) and which belong to a build that is still running.
 */
export function tempName(prefix: string): string {
  return `${process.pid}-${prefix}-${randomHex(6)}`;
}

/** The pid encoded in a temp name, or undefined for foreign names. */
export function tempNamePid(name: string): number | undefined {
  const m = /^(\d+)-/.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM means the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** fsync a directory so a rename into it survives a crash. Some filesystems refuse: that is fine. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch {
    // best effort
  } finally {
    await fh?.close();
  }
}

/** Write `data` to `path` via a temp file in `tmpDir` (same filesystem), fsync, rename. */
export async function writeFileAtomic(path: string, data: Buffer | string, tmpDir: string): Promise<void> {
  const tmp = join(tmpDir, tempName('write'));
  const fh = await fsp.open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fsp.rename(tmp, path);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(join(path, '..'));
}

export async function exists(path: string): Promise<boolean> {
  try {
    await fsp.lstat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** lstat, or undefined when the path (or a parent) does not exist. */
export async function lstatIfExists(path: string): Promise<Stats | undefined> {
  try {
    return await fsp.lstat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** lstatIfExists without a trip through the thread pool (ENOENT answered without an exception). */
export function lstatSyncIfExists(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** The layer entry type of a file; sockets, which never belong in images, are reported as such. */
export function fileTypeOf(st: Stats): LayerEntryType | 'socket' {
  return fileTypeOfMode(st.mode);
}

/** The same from st_mode's type bits (for stats that are numbers, not a Stats object). */
export function fileTypeOfMode(mode: number): LayerEntryType | 'socket' {
  switch (mode & fsConstants.S_IFMT) {
    case fsConstants.S_IFREG: return 'file';
    case fsConstants.S_IFDIR: return 'dir';
    case fsConstants.S_IFLNK: return 'symlink';
    case fsConstants.S_IFCHR: return 'char';
    case fsConstants.S_IFBLK: return 'block';
    case fsConstants.S_IFIFO: return 'fifo';
    default: return 'socket';
  }
}

/** Overlay's whiteout: a character device 0/0. */
export function isWhiteoutDevice(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}
