// How a RootfsView reads its snapshot directories on the host. Directly, as a rule. Rootless with
// subordinate ids, snapshot files of other container users belong to ids only real in the user
// namespace, and private ones (a 0700 home directory of uid 1001, a 0600 key) cannot be read by this
// process: then, and only for those paths, the question goes to the user-namespace worker, whose
// root can read them (cache/userns.ts). Its answers are shaped as host answers (ids shifted back
// to host ids), so the view maps them to container ids like any other.
import { constants as C, promises as fsp, readdirSync, readlinkSync, Stats } from 'node:fs';
import { lstatSyncIfExists } from './fsutil.js';
import { loadNative, type NativeFs } from './native.js';
import { inUserns, usernsRanges, type Range } from './userns.js';

export interface HostFs {
  /** undefined when the path does not exist */
  lstat(path: string): Stats | undefined | Promise<Stats | undefined>;
  readdir(path: string): string[] | Promise<string[]>;
  readlink(path: string): string | Promise<string>;
  readFile(path: string): Promise<Buffer>;
  /** Whether this process can open the file itself (so its content can be streamed from the path). */
  canRead(path: string): Promise<boolean>;
  /** The overlay opaque marker of a directory. */
  opaque(path: string): Promise<boolean>;
}

/** What the worker answers for an lstat: the fields a RootfsView uses. */
export interface PeekStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  rdev: number;
  ino: number;
  dev: number;
  nlink: number;
}

export type PeekOp =
  | { what: 'lstat'; path: string }
  | { what: 'readdir'; path: string }
  | { what: 'readlink'; path: string }
  | { what: 'read'; path: string }
  | { what: 'opaque'; path: string };

const OPAQUE = ['trusted.overlay.opaque', 'user.overlay.opaque'];

async function opaqueWith(native: Promise<NativeFs | undefined>, path: string): Promise<boolean> {
  const n = await native;
  if (!n) return false; // without xattr support opaque dirs cannot be seen (reduced fidelity)
  for (const name of OPAQUE) {
    try {
      if (n.lgetxattr(path, name)?.toString() === 'y') return true;
    } catch (e) {
      if (isDenied(e)) throw e;
      // unsupported namespace here
    }
  }
  return false;
}

/** Plain file system calls (synchronous underneath: see RootfsView). */
export class DirectHostFs implements HostFs {
  private native: Promise<NativeFs | undefined> | undefined;
  lstat(path: string): Stats | undefined {
    return lstatSyncIfExists(path);
  }
  readdir(path: string): string[] {
    return readdirSync(path);
  }
  readlink(path: string): string {
    return readlinkSync(path);
  }
  readFile(path: string): Promise<Buffer> {
    return fsp.readFile(path);
  }
  async canRead(path: string): Promise<boolean> {
    return fsp.access(path, C.R_OK).then(() => true, () => false);
  }
  opaque(path: string): Promise<boolean> {
    this.native ??= loadNative();
    return opaqueWith(this.native, path);
  }
}

function isDenied(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM';
}

/** Container id → the host id it is stored as (container 0 = this user, 1.. = the range). */
function hostId(id: number, own: number, range: Range): number {
  if (id === 0) return own;
  return id >= 1 && id <= range.count ? range.start + id - 1 : 65534;
}

/** Direct calls; a path this user may not read is asked of the user-namespace worker. */
export class UsernsFallbackHostFs implements HostFs {
  private readonly direct = new DirectHostFs();
  constructor(private readonly ranges: { uid: Range; gid: Range }) {}

  lstat(path: string): Stats | undefined | Promise<Stats | undefined> {
    try {
      return this.direct.lstat(path);
    } catch (e) {
      if (!isDenied(e)) throw e;
      return this.peek<PeekStat | null>({ what: 'lstat', path }).then((p) => (p ? this.toStats(p) : undefined));
    }
  }

  readdir(path: string): string[] | Promise<string[]> {
    try {
      return this.direct.readdir(path);
    } catch (e) {
      if (!isDenied(e)) throw e;
      return this.peek<string[]>({ what: 'readdir', path });
    }
  }

  readlink(path: string): string | Promise<string> {
    try {
      return this.direct.readlink(path);
    } catch (e) {
      if (!isDenied(e)) throw e;
      return this.peek<string>({ what: 'readlink', path });
    }
  }

  async readFile(path: string): Promise<Buffer> {
    try {
      return await this.direct.readFile(path);
    } catch (e) {
      if (!isDenied(e)) throw e;
      return Buffer.from(await this.peek<string>({ what: 'read', path }), 'base64');
    }
  }

  canRead(path: string): Promise<boolean> {
    return this.direct.canRead(path);
  }

  async opaque(path: string): Promise<boolean> {
    try {
      return await this.direct.opaque(path);
    } catch (e) {
      if (!isDenied(e)) throw e;
      return this.peek<boolean>({ what: 'opaque', path });
    }
  }

  private peek<T>(p: PeekOp): Promise<T> {
    return inUserns<T>({ op: 'peek', ...p });
  }

  private toStats(p: PeekStat): Stats {
    // fs.Stats' isDirectory() & co. read only `mode`: a plain object on its prototype answers them.
    const st = Object.create(Stats.prototype) as Stats;
    return Object.assign(st, p, {
      uid: hostId(p.uid, process.getuid!(), this.ranges.uid),
      gid: hostId(p.gid, process.getgid!(), this.ranges.gid),
    });
  }
}

/** The worker's side of a peek: it runs as the namespace's root, where every snapshot file is readable. */
export async function answerPeek(p: PeekOp): Promise<unknown> {
  switch (p.what) {
    case 'lstat': {
      const st = lstatSyncIfExists(p.path);
      if (!st) return null;
      const { mode, uid, gid, size, mtimeMs, rdev, ino, dev, nlink } = st;
      return { mode, uid, gid, size, mtimeMs, rdev, ino, dev, nlink } satisfies PeekStat;
    }
    case 'readdir':
      return readdirSync(p.path);
    case 'readlink':
      return readlinkSync(p.path);
    case 'read':
      return (await fsp.readFile(p.path)).toString('base64');
    case 'opaque':
      return opaqueWith(loadNative(), p.path);
  }
}

/** The host access a RootfsView should use in this process. */
export function defaultHostFs(): HostFs {
  const r = usernsRanges();
  return r ? new UsernsFallbackHostFs(r) : new DirectHostFs();
}

