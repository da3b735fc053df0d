// Walking a directory (a plain tree or an overlay upper dir) into layer entries.
import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX, compareEntryPaths, type LayerEntry, type LayerEntryType } from './layer-entry.js';
import { loadNative, type NativeFs } from './native.js';
import { fileTypeOf } from './fsutil.js';
import { refuseUndecodableInLayer } from '../oci/file-names.js';

export interface ScanOptions {
  /** The tree is an overlay upper dir: translate char 0/0 devices and opaque xattrs into whiteouts. */
  overlay?: boolean;
  /** Ownership (and mode) recorded out of band, for rootless builds where the disk cannot hold it. */
  overrides?: Map<string, { uid: number; gid: number; mode?: number }>;
  /**
   * With `overlay`: the one opaque xattr the mount honoured (`trusted.overlay.opaque`, or
   * `user.overlay.opaque` under `userxattr`); the other namespace's is an ordinary xattr the step may
   * have set. Default: either.
   */
  opaqueXattr?: string;
  /** Filled with what the tree holds but the layer leaves out (see LeftOut). */
  leftOut?: LeftOut;
  /** Only these paths (each with its parent directories) are scanned; the rest of the tree is not read. */
  only?: Set<string>;
}

/**
 * What a scanned tree holds that its layer does not express: sockets, and overlay's own xattrs
 * (origin, impure, a foreign namespace's markers...) apart from the honoured opaque marker, which
 * becomes `.wh..wh..opq`. An upper dir kept as the layer's snapshot must lose these to equal an
 * unpacked one (cache/upper-snapshot.ts).
 */
export interface LeftOut {
  sockets: string[];
  xattrs: { path: string; name: string }[];
}

const OPAQUE_XATTRS = ['trusted.overlay.opaque', 'user.overlay.opaque'];

function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}

/** Linux dev_t split, as glibc's major()/minor() (numbers here stay below 2^53). */
export function devMajor(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}
export function devMinor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >>> 12) & ~0xff);
}


/** Sockets do not belong in images: they are skipped. */
function entryTypeOf(st: Stats): LayerEntryType | undefined {
  const t = fileTypeOf(st);
  return t === 'socket' ? undefined : t;
}

export async function scanDir(root: string, opts: ScanOptions = {}): Promise<LayerEntry[]> {
  const native = await loadNative();
  const out: LayerEntry[] = [];
  walk(root, '', native, opts, out);
  out.sort((a, b) => compareEntryPaths(a.path, b.path));
  // Hardlinks are decided after sorting so the first path in layer order carries the data.
  const seen = new Map<string, string>();
  for (const e of out) {
    const key = (e as ScannedEntry).inode;
    if (key === undefined) continue;
    delete (e as ScannedEntry).inode;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, e.path);
      continue;
    }
    e.type = 'hardlink';
    e.linkname = first;
    delete e.size;
    delete e.content;
  }
  return out;
}

type ScannedEntry = LayerEntry & { inode?: string };

// Synchronous on purpose: an lstat of a cached inode costs a few microseconds, a round trip through
// libuv's thread pool and a promise ten times that (a RUN layer of 2,000 files: ~35 ms instead of
// ~150 ms of CPU); other stages running meanwhile only see their output events a little later.
function walk(root: string, rel: string, native: NativeFs | undefined, opts: ScanOptions, out: LayerEntry[]): void {
  const dir = rel ? join(root, rel) : root;
  const names = readdirSync(dir).sort();
  refuseUndecodableInLayer(dir, rel, names);
  for (const name of names) {
    const path = rel ? rel + '/' + name : name;
    if (opts.only && !opts.only.has(path)) continue;
    const abs = join(root, path);
    const st = lstatSync(abs);
    const type = entryTypeOf(st);
    if (!type) {
      opts.leftOut?.sockets.push(path);
      continue;
    }
    const ov = opts.overrides?.get(path);
    const base = {
      mode: ov?.mode ?? st.mode & 0o7777,
      uid: ov?.uid ?? st.uid,
      gid: ov?.gid ?? st.gid,
      mtime: Math.floor(st.mtimeMs) / 1000,
    };
    if (opts.overlay && type === 'char' && st.rdev === 0) {
      const wh = rel ? rel + '/' + WHITEOUT_PREFIX + name : WHITEOUT_PREFIX + name;
      out.push({ path: wh, type: 'file', size: 0, ...base });
      continue;
    }
    const e: ScannedEntry = { path, type, ...base };
    const overlayNames: string[] = [];
    const xattrs = readXattrs(native, abs, overlayNames);
    if (xattrs) e.xattrs = xattrs;
    const opaque = opts.overlay && type === 'dir' ? opaqueMarker(native, abs, overlayNames, opts.opaqueXattr) : undefined;
    if (opts.leftOut) for (const name of overlayNames) if (name !== opaque) opts.leftOut.xattrs.push({ path, name });
    switch (type) {
      case 'file':
        e.size = st.size;
        e.content = { path: abs };
        if (st.nlink > 1) e.inode = `${st.dev}:${st.ino}`;
        break;
      case 'symlink':
        e.linkname = readlinkSync(abs);
        break;
      case 'char':
      case 'block':
        e.devmajor = devMajor(st.rdev);
        e.devminor = devMinor(st.rdev);
        if (st.nlink > 1) e.inode = `${st.dev}:${st.ino}`;
        break;
      case 'fifo':
        if (st.nlink > 1) e.inode = `${st.dev}:${st.ino}`;
        break;
    }
    out.push(e);
    if (type === 'dir') {
      if (opaque !== undefined) {
        out.push({ path: path + '/' + OPAQUE_WHITEOUT, type: 'file', size: 0, ...base });
      }
      walk(root, path, native, opts, out);
    }
  }
}

/** The opaque xattr that makes this upper dir opaque (value "y"), if any. */
function opaqueMarker(native: NativeFs | undefined, abs: string, overlayNames: string[], only: string | undefined): string | undefined {
  if (!native) return undefined;
  return (only ? [only] : OPAQUE_XATTRS).find((x) => overlayNames.includes(x) && native.lgetxattr(abs, x)?.toString() === 'y');
}

/** Xattrs worth carrying into a layer; overlayfs' own bookkeeping never is (its names go to `overlayNames`). */
function readXattrs(native: NativeFs | undefined, abs: string, overlayNames: string[]): Record<string, Buffer> | undefined {
  if (!native) return undefined;
  let names: string[];
  try {
    names = native.llistxattr(abs);
  } catch {
    return undefined; // e.g. ENOTSUP on this filesystem
  }
  const out: Record<string, Buffer> = {};
  for (const n of names.sort()) {
    if (isOverlayXattr(n)) {
      overlayNames.push(n);
      continue;
    }
    // SELinux labels are host policy, not image content.
    if (n === 'security.selinux') continue;
    try {
      const v = native.lgetxattr(abs, n);
      if (v !== undefined) out[n] = v;
    } catch {
      // vanished or unreadable: skip
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
