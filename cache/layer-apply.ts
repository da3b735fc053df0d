// Unpacking a layer into a snapshot directory, safely: every write happens below `target`, parents are
// checked with lstat (a symlinked parent is refused, never followed), files are created with O_EXCL|O_NOFOLLOW.
//
// The file system calls are synchronous: an entry takes half a dozen of them (lstat, open, write,
// chown, chmod, utimes, close), and each promise-based call is a round trip through libuv's thread
// pool that costs more than the call itself. Unpacking W1's layer (20,000 files of 1–8 KiB, 108 MB)
// took 9.2–9.5 s that way and 1.2–1.3 s this way; a RUN right after `COPY . /app` waits for it. Only
// the layer's bytes arrive asynchronously (decompression).
import {
  closeSync, constants as C, fchmodSync, fchownSync, futimesSync, linkSync, lchownSync, lstatSync, lutimesSync,
  mkdirSync, openSync, readdirSync, rmSync, symlinkSync, chmodSync, utimesSync, writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { UserError } from '../oci/errors.js';
import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX, normalizeEntryPath } from './layer-entry.js';
import { openLayer } from './layer-read.js';
import { isRoot, loadNative, type NativeFs } from './native.js';
import type { TarMember } from './tar-read.js';
import { lstatSyncIfExists } from './fsutil.js';

export interface ApplyOptions {
  /** Write whiteouts the way overlayfs wants its lower dirs: char 0/0 devices and the opaque xattr. */
  overlayWhiteouts?: boolean;
  /** Mark opaque dirs with user.overlay.opaque even as root (root of a user namespace: rootless overlay). */
  userXattr?: boolean;
}

export interface ApplyResult {
  diffID: string;
  /** Entries or attributes that could not be reproduced here (devices without root, xattrs without the addon). */
  warnings: string[];
}

interface DirMeta { mode: number; mtime: number }

/** Xattrs that steer overlayfs: a layer must not be able to plant them in a lower dir. */
function isOverlayControlXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}

export async function applyLayer(blob: Readable, mediaType: string, target: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const root = resolve(target);
  const st = lstatSync(root);
  if (!st.isDirectory()) throw new Error(`applyLayer: ${root} is not a directory`);
  const a = new Applier(root, opts, await loadNative());
  const layer = openLayer(blob, mediaType);
  try {
    for await (const m of layer.members) await a.apply(m);
    a.finish();
  } catch (e) {
    layer.abort();
    throw e;
  }
  return { diffID: layer.diffID(), warnings: a.warnings };
}

class Applier {
  readonly warnings: string[] = [];
  /** Paths (rootfs-relative) this layer created: whiteouts and opaque markers must not remove them. */
  private readonly written = new Set<string>();
  /** Directories already verified to be real directories below root. */
  private readonly safeDirs = new Set<string>(['']);
  private readonly dirMeta = new Map<string, DirMeta>();
  private readonly root: string;
  private readonly overlay: boolean;
  private readonly native: NativeFs | undefined;
  private readonly asRoot = isRoot();
  private readonly userXattr: boolean;

  constructor(root: string, opts: ApplyOptions, native: NativeFs | undefined) {
    this.root = root;
    this.overlay = opts.overlayWhiteouts ?? false;
    this.userXattr = opts.userXattr ?? !this.asRoot;
    this.native = native;
  }

  async apply(m: TarMember): Promise<void> {
    const h = m.header;
    const rel = normalizeEntryPath(h.path);
    if (rel === '') return; // the root itself: its metadata belongs to the snapshot, not to a layer
    const name = basename(rel);
    const parentRel = dirname(rel) === '.' ? '' : dirname(rel);
    const parentAbs = this.ensureDir(parentRel, rel);

    if (name.startsWith(WHITEOUT_PREFIX)) {
      if (name === OPAQUE_WHITEOUT) this.opaque(parentRel, parentAbs);
      else this.whiteout(parentRel, parentAbs, name.slice(WHITEOUT_PREFIX.length), rel);
      return;
    }

    const abs = join(parentAbs, name);
    const existing = lstatSyncIfExists(abs);
    if (existing && !(h.type === 'dir' && existing.isDirectory())) this.remove(rel, abs);

    switch (h.type) {
      case 'dir':
        if (!existing?.isDirectory()) mkdirSync(abs, 0o700);
        this.safeDirs.add(rel);
        if (this.asRoot) lchownSync(abs, h.uid, h.gid);
        this.setXattrs(abs, rel, h.xattrs);
        // Mode and mtime last: children would bump the mtime, and a read-only mode could block them.
        this.dirMeta.set(rel, { mode: h.mode, mtime: h.mtime });
        break;
      case 'file': {
        const fd = openSync(abs, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of m.body()) writeAll(fd, chunk);
          if (this.asRoot) fchownSync(fd, h.uid, h.gid);
          fchmodSync(fd, h.mode); // after chown, which clears setuid/setgid
          this.setXattrs(abs, rel, h.xattrs); // after chown too: it clears security.capability
          futimesSync(fd, h.mtime, h.mtime);
        } finally {
          closeSync(fd);
        }
        break;
      }
      case 'symlink':
        symlinkSync(h.linkname ?? '', abs);
        if (this.asRoot) lchownSync(abs, h.uid, h.gid);
        this.setXattrs(abs, rel, h.xattrs);
        lutimesSync(abs, h.mtime, h.mtime);
        break;
      case 'hardlink': {
        const linkRel = normalizeEntryPath(h.linkname ?? '');
        linkSync(this.existingPath(linkRel, rel), abs);
        break;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        const kind = h.type === 'char' ? C.S_IFCHR : h.type === 'block' ? C.S_IFBLK : C.S_IFIFO;
        if (!this.native || (h.type !== 'fifo' && !this.asRoot)) {
          this.warnings.push(`skipped ${h.type} device ${rel}: ${this.native ? 'needs root' : 'native addon not built'}`);
          return;
        }
        this.native.mknod(abs, kind | (h.mode & 0o7777), h.devmajor ?? 0, h.devminor ?? 0);
        if (this.asRoot) lchownSync(abs, h.uid, h.gid);
        chmodSync(abs, h.mode); // a device node, not a symlink: chmod cannot be redirected
        this.setXattrs(abs, rel, h.xattrs);
        lutimesSync(abs, h.mtime, h.mtime);
        break;
      }
    }
    this.written.add(rel);
  }

  /** Apply directory modes and mtimes, deepest first so setting a child does not disturb its parent. */
  finish(): void {
    const dirs = [...this.dirMeta].sort((x, y) => y[0].split('/').length - x[0].split('/').length);
    for (const [rel, meta] of dirs) {
      const abs = join(this.root, rel);
      const st = lstatSyncIfExists(abs);
      if (!st?.isDirectory()) continue;
      chmodSync(abs, meta.mode);
      utimesSync(abs, meta.mtime, meta.mtime);
    }
  }

  /**
   * Make sure `rel` is a real directory below root, creating missing components (mode 0755, as tar
   * does) and refusing symlinks or non-directories on the way. Returns its absolute path.
   */
  private ensureDir(rel: string, forEntry: string): string {
    if (this.safeDirs.has(rel)) return join(this.root, rel);
    let cur = '';
    for (const c of rel.split('/')) {
      cur = cur ? cur + '/' + c : c;
      if (this.safeDirs.has(cur)) continue;
      const abs = join(this.root, cur);
      const st = lstatSyncIfExists(abs);
      if (!st) {
        mkdirSync(abs, 0o755);
        this.written.add(cur);
      } else if (st.isSymbolicLink()) {
        throw new UserError(`unsafe layer: entry ${JSON.stringify(forEntry)} would be written through the symlink ${JSON.stringify(cur)}`);
      } else if (!st.isDirectory()) {
        throw new UserError(`bad layer: entry ${JSON.stringify(forEntry)} needs ${JSON.stringify(cur)} to be a directory`);
      }
      this.safeDirs.add(cur);
    }
    return join(this.root, rel);
  }

  /** Absolute path of an existing non-directory inside root (a hardlink target), without following symlinked parents. */
  private existingPath(rel: string, forEntry: string): string {
    if (rel === '') throw new UserError(`bad layer: hardlink ${JSON.stringify(forEntry)} has an empty target`);
    const parentRel = dirname(rel) === '.' ? '' : dirname(rel);
    let cur = '';
    for (const c of parentRel ? parentRel.split('/') : []) {
      cur = cur ? cur + '/' + c : c;
      const st = lstatSyncIfExists(join(this.root, cur));
      if (!st) throw new UserError(`bad layer: hardlink ${JSON.stringify(forEntry)} points to missing ${JSON.stringify(rel)}`);
      if (!st.isDirectory()) {
        // A symlinked parent could lead anywhere on the host: refuse rather than resolve it.
        throw new UserError(`unsafe layer: hardlink ${JSON.stringify(forEntry)} points to ${JSON.stringify(rel)} through non-directory ${JSON.stringify(cur)}`);
      }
    }
    const abs = join(this.root, rel);
    const st = lstatSyncIfExists(abs);
    if (!st) throw new UserError(`bad layer: hardlink ${JSON.stringify(forEntry)} points to missing ${JSON.stringify(rel)}`);
    if (st.isDirectory()) throw new UserError(`bad layer: hardlink ${JSON.stringify(forEntry)} points to directory ${JSON.stringify(rel)}`);
    return abs;
  }

  private remove(rel: string, abs: string): void {
    rmSync(abs, { recursive: true, force: true });
    for (const s of [this.safeDirs, this.written]) for (const p of s) if (p === rel || p.startsWith(rel + '/')) s.delete(p);
    for (const p of [...this.dirMeta.keys()]) if (p === rel || p.startsWith(rel + '/')) this.dirMeta.delete(p);
  }

  private whiteout(parentRel: string, parentAbs: string, name: string, entry: string): void {
    if (name === '' || name === '.' || name === '..' || name.includes('/')) {
      throw new UserError(`bad layer: invalid whiteout ${JSON.stringify(entry)}`);
    }
    const rel = parentRel ? parentRel + '/' + name : name;
    const abs = join(parentAbs, name);
    if (this.written.has(rel)) return; // added by this very layer: the whiteout hides only lower content
    if (!this.overlay) {
      this.remove(rel, abs);
      return;
    }
    const native = this.requireNative(`whiteout ${entry}`);
    this.remove(rel, abs);
    try {
      native.mknod(abs, C.S_IFCHR, 0, 0);
    } catch (e) {
      throw new UserError(`cannot create overlay whiteout for ${JSON.stringify(entry)}: ${(e as Error).message}`, { cause: e });
    }
    this.written.add(rel);
  }

  private opaque(parentRel: string, parentAbs: string): void {
    if (!this.overlay) {
      for (const child of readdirSync(parentAbs)) {
        const rel = parentRel ? parentRel + '/' + child : child;
        if (!this.written.has(rel)) this.remove(rel, join(parentAbs, child));
      }
      return;
    }
    const native = this.requireNative(`opaque directory ${parentRel || '/'}`);
    // Rootless overlay (mounted with userxattr) reads the user.* namespace; root's overlay the trusted.* one.
    native.lsetxattr(parentAbs, this.userXattr ? 'user.overlay.opaque' : 'trusted.overlay.opaque', Buffer.from('y'));
  }

  private requireNative(what: string): NativeFs {
    if (!this.native) {
      throw new UserError(`cannot unpack ${what} in overlay format: the native addon (mknod/xattrs) is not built`, { hint: 'run "npm run build:native"' });
    }
    return this.native;
  }

  private setXattrs(abs: string, rel: string, xattrs: Record<string, Buffer> | undefined): void {
    if (!xattrs) return;
    for (const [name, value] of Object.entries(xattrs)) {
      if (isOverlayControlXattr(name)) {
        this.warnings.push(`ignored overlay xattr ${name} on ${rel}`);
        continue;
      }
      if (!this.native) {
        this.warnings.push(`dropped xattr ${name} on ${rel}: native addon not built`);
        continue;
      }
      try {
        this.native.lsetxattr(abs, name, value);
      } catch (e) {
        this.warnings.push(`dropped xattr ${name} on ${rel}: ${(e as Error).message}`);
      }
    }
  }
}

/** write(2) until all of `chunk` is in the file (a regular file takes it whole, but the API allows less). */
function writeAll(fd: number, chunk: Uint8Array): void {
  for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off, chunk.length - off);
}
