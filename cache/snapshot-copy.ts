// The copy snapshotter: overlay-format snapshot dirs (lowest first) merged into one plain directory,
// the way overlayfs would show them (char 0/0 whiteouts delete, opaque dirs hide what is below).
// Used where overlay cannot be: chroot isolation, and RUN --mount=type=bind,from=... sources.
// Synchronous file system calls, as in layer-apply.ts: a thread-pool round trip per call cost more
// than the calls themselves, several per file.
import {
  chmodSync, constants as C, copyFileSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, readdirSync,
  readlinkSync, rmSync, symlinkSync, type Stats,
} from 'node:fs';
import { basename, join } from 'node:path';
import { devMajor, devMinor } from './layer-scan.js';
import { isRoot, loadNative, type NativeFs } from './native.js';
import { isWhiteoutDevice, lstatSyncIfExists } from './fsutil.js';

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

  clear(dir: string): void {
    for (const n of readdirSync(dir)) rmSync(join(dir, n), { recursive: true, force: true });
  }

  mergeDir(src: string, dst: string): void {
    for (const name of readdirSync(src)) {
      const s = join(src, name);
      const d = join(dst, name);
      const st = lstatSync(s);
      const ex = lstatSyncIfExists(d);
      if (isWhiteout(st)) {
        if (ex) rmSync(d, { recursive: true, force: true });
        continue;
      }
      this.entry(s, d, st, ex);
    }
  }

  entry(s: string, d: string, st: Stats, ex: Stats | undefined): void {
    if (st.isDirectory()) {
      if (ex && !ex.isDirectory()) rmSync(d, { force: true });
      if (!ex || !ex.isDirectory()) mkdirSync(d);
      else if (this.opaque(s)) this.clear(d);
      this.mergeDir(s, d);
      this.meta(s, d, st);
      return;
    }
    if (ex) rmSync(d, { recursive: true, force: true });
    const key = `${st.dev}:${st.ino}`;
    if (!st.isDirectory() && st.nlink > 1 && this.links.has(key)) {
      linkSync(this.links.get(key)!, d);
      return;
    }
    if (st.isFile()) copyFileSync(s, d, C.COPYFILE_FICLONE);
    else if (st.isSymbolicLink()) symlinkSync(readlinkSync(s), d);
    else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
      if (!this.native) return; // cannot make device nodes without the addon
      try {
        this.native.mknod(d, st.mode, devMajor(st.rdev), devMinor(st.rdev));
      } catch {
        return; // devices need CAP_MKNOD: skipped, as an unprivileged unpack does
      }
    } else return; // sockets
    if (st.nlink > 1) this.links.set(key, d);
    this.meta(s, d, st);
  }

  meta(s: string, d: string, st: Stats): void {
    if (this.asRoot) lchownSync(d, st.uid, st.gid);
    if (!st.isSymbolicLink()) chmodSync(d, st.mode & 0o7777); // after chown, which clears setuid
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
    lutimesSync(d, st.atime, st.mtime);
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
    const st = lstatSyncIfExists(s);
    if (!st) continue;
    if (isWhiteout(st)) {
      if (out) rmSync(out, { recursive: true, force: true });
      out = undefined;
      c.clear(dest);
      continue;
    }
    if (st.isDirectory()) {
      if (out !== dest) {
        c.clear(dest);
        out = dest;
      } else if (c.opaque(s)) c.clear(dest);
      c.mergeDir(s, dest);
      c.meta(s, dest, st);
    } else {
      c.clear(dest);
      out = join(dest, basename(rel) || 'root');
      c.entry(s, out, st, undefined);
    }
  }
  return out;
}

/**
 * Apply `layers` (snapshot dirs, lowest first) on top of the merged tree already in `dest`, as if
 * they had been in the list `dest` was materialized from: whiteouts delete, opaque dirs (the root
 * included) hide what was there.
 */
export async function mergeOnto(layers: string[], dest: string): Promise<void> {
  const c = new Copier(await loadNative());
  for (const layer of layers) {
    c.newLayer();
    if (c.opaque(layer)) c.clear(dest);
    c.mergeDir(layer, dest);
    c.meta(layer, dest, lstatSync(layer));
  }
}
