// Opening the store: the layout under <root>, the metadata lock, temp dirs, and cleanup after crashes.
import { mkdirSync, promises as fsp, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { BlobStore } from './blobs.js';
import { pidAlive, tempName, tempNamePid } from './fsutil.js';
import { ImageStore } from './images.js';
import { withFileLock } from './lock.js';
import { SnapshotStore } from './snapshots.js';
import { UserError } from '../oci/errors.js';

export interface Store {
  root: string;
  blobs: BlobStore;
  images: ImageStore;
  snapshots: SnapshotStore;
  tmp: string;
  /** Exclusive lock for store metadata writes, across processes. */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
  /** A fresh private temp dir under tmp (named with our pid, so a crash leaves it for openStore to clean). Remove it with removeTempDir. */
  makeTempDir(prefix: string): Promise<string>;
  removeTempDir(dir: string): Promise<void>;
}

export function defaultStoreRoot(): string {
  const env = process.env['TSBUILD_ROOT'];
  if (env) return resolve(env);
  if (process.getuid?.() === 0) return '/var/lib/tsbuild';
  const xdg = process.env['XDG_DATA_HOME'];
  return join(xdg ? resolve(xdg) : join(homedir(), '.local', 'share'), 'tsbuild');
}

export async function openStore(root: string): Promise<Store> {
  root = resolve(root);
  // Node's recursive mkdir never returns below /proc or /sys (it loops on their EEXIST/ENOENT).
  if (/^\/(proc|sys)(\/|$)/.test(root)) throw new UserError(`cannot use ${root} as the store: it is in a kernel file system`);
  const tmp = join(root, 'tmp');
  // Synchronously: every command opens the store and almost always finds it there, which takes
  // microseconds this way and a thread-pool round trip per directory the promise way.
  try {
    for (const d of [join(root, 'blobs', 'sha256'), tmp, join(root, 'snapshots')]) mkdirSync(d, { recursive: true });
  } catch (e) {
    // A file where the store should be, no permission, a read-only file system: the caller's to fix.
    throw new UserError(`cannot use ${root} as the store: ${(e as Error).message}`, { cause: e });
  }
  const lockPath = join(root, 'store.lock');
  const withLock = <T>(fn: () => Promise<T>) => withFileLock(lockPath, fn);
  await cleanTmp(tmp);
  const blobs = new BlobStore(join(root, 'blobs'), tmp);
  return {
    root,
    blobs,
    images: new ImageStore(root, blobs, tmp, withLock),
    snapshots: new SnapshotStore(join(root, 'snapshots'), blobs, tmp),
    tmp,
    withLock,
    async makeTempDir(prefix: string) {
      const dir = join(tmp, tempName(prefix.replace(/[^A-Za-z0-9_.]/g, '_')));
      await fsp.mkdir(dir, { mode: 0o700 });
      return dir;
    },
    async removeTempDir(dir: string) {
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Remove temp entries whose owning process is gone: a killed build's half-written blobs and dirs. */
async function cleanTmp(tmp: string): Promise<void> {
  for (const name of readdirSync(tmp)) {
    const pid = tempNamePid(name);
    if (pid === undefined || pid === process.pid || pidAlive(pid)) continue;
    await fsp.rm(join(tmp, name), { recursive: true, force: true });
  }
}
