// The copy snapshotter: overlay-format snapshot dirs (lowest first) merged into one plain directory,
// the way overlayfs would show them (char 0/0 whiteouts delete, opaque dirs hide what is below).
// Used where overlay cannot be: chroot isolation, and RUN --mount=type=bind,from=... sources.
import { constants as C, promises as fsp, type Stats } from 'node:fs';
import { basename, join } from 'node:path';
import { devMajor, devMinor } from './layer-scan.js';
import { isRoot, loadNative, type NativeFs } from './native.js';
import { isWhiteoutDevice, lstatIfExists } from './fsutil.js';

const OPAQUE = ['trusted.overlay.opaque', 'user.overlay.opaque'];
const isWhiteout = isWhiteoutDevice;


class Copier {
  /** Hardlinks are per layer (a tar's links point inside the same tar): inode → first copy. */
  private links = new Map<string, string>();
  private readonly asRoot = isRoot();
  constructor(private readonly native: NativeFs | undefined) {}

  newLayer(): void {
    this.links = new Map();
  }

  opaque(dir: string): boolean {
    if (!this.native) return false;
    return OPAQUE.some((x) => {
      try {
        return this.native!.lgetxattr(dir, x)?.toString() === 'y';
      } catch {
        return false;
      }
    });
  }

  async clear(dir: string): Promise<void> {
    for (const n of await fsp.readdir(dir)) await fsp.rm(join(dir, n), { recursive: true, force: true });
  }

  async mergeDir(src: string, dst: string): Promise<void> {
    for (const name of await fsp.readdir(src)) {
      const s = join(src, name);
      const d = join(dst, name);
      const st = await fsp.lstat(s);
      const ex = await lstatIfExists(d);
      if (isWhiteout(st)) {
        if (ex) await fsp.rm(d, { recursive: true, force: true });
        continue;
      }
      await this.entry(s, d, st, ex);
    }
  }

  async entry(s: string, d: string, st: Stats, ex: Stats | undefined): Promise<void> {
    if (st.isDirectory()) {
      if (ex && !ex.isDirectory()) await fsp.rm(d, { force: true });
      if (!ex || !ex.isDirectory()) await fsp.mkdir(d);
      else if (this.opaque(s)) await this.clear(d);
      await this.mergeDir(s, d);
      await this.meta(s, d, st);
      return;
    }
    if (ex) await fsp.rm(d, { recursive: true, force: true });
    const key = `${st.dev}:${st.ino}`;
    if (!st.isDirectory() && st.nlink > 1 && this.links.has(key)) {
      await fsp.link(this.links.get(key)!, d);
      return;
    }
    if (st.isFile()) await fsp.copyFile(s, d, C.COPYFILE_FICLONE);
    else if (st.isSymbolicLink()) await fsp.symlink(await fsp.readlink(s), d);
    else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
      if (!this.native) return; // cannot make device nodes without the addon
      try {
        this.native.mknod(d, st.mode, devMajor(st.rdev), devMinor(st.rdev));
      } catch {
        return; // devices need CAP_MKNOD: skipped, as an unprivileged unpack does
      }
    } else return; // sockets
    if (st.nlink > 1) this.links.set(key, d);
    await this.meta(s, d, st);
  }

  async meta(s: string, d: string, st: Stats): Promise<void> {
    if (this.asRoot) await fsp.lchown(d, st.uid, st.gid);
    if (!st.isSymbolicLink()) await fsp.chmod(d, st.mode & 0o7777); // after chown, which clears setuid
    if (this.native) {
      let names: string[] = [];
      try {
        names = this.native.llistxattr(s);
      } catch {
        /* no xattrs here */
      }
      for (const n of names) {
        if (n.startsWith('trusted.overlay.') || n.startsWith('user.overlay.')) continue;
        try {
          const v = this.native.lgetxattr(s, n);
          if (v !== undefined) this.native.lsetxattr(d, n, v);
        } catch {
          /* e.g. security.* without privilege */
        }
      }
    }
    await fsp.lutimes(d, st.atime, st.mtime);
  }
}

/**
 * Merge `lowers` (lowest first) into the empty directory `dest`; with `sub` (an already resolved
 * rootfs path) only that subtree. Returns the host path of the copy: `dest` for a directory, or
 * `dest/<name>` when `sub` is a single file; undefined when `sub` does not exist.
 */
export async function materialize(lowers: string[], dest: string, sub = '/'): Promise<string | undefined> {
  const c = new Copier(await loadNative());
  const rel = sub.replace(/^\/+/, '');
  let out: string | undefined;
  for (const layer of lowers) {
    c.newLayer();
    const s = rel ? join(layer, rel) : layer;
    const st = await lstatIfExists(s);
    if (!st) continue;
    if (isWhiteout(st)) {
      if (out) await fsp.rm(out, { recursive: true, force: true });
      out = undefined;
      await c.clear(dest);
      continue;
    }
    if (st.isDirectory()) {
      if (out !== dest) {
        await c.clear(dest);
        out = dest;
      } else if (c.opaque(s)) await c.clear(dest);
      await c.mergeDir(s, dest);
      await c.meta(s, dest, st);
    } else {
      await c.clear(dest);
      out = join(dest, basename(rel) || 'root');
      await c.entry(s, out, st, undefined);
    }
  }
  return out;
}
