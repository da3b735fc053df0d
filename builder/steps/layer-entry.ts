// Local copy of the layer codec's entry type (cache/layers.ts is not written yet). Keep identical;
// switch the import to '../../cache/layers.js' once it exists.

export type LayerEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface LayerEntry {
  /** rootfs-relative, no leading or trailing '/' */
  path: string;
  type: LayerEntryType;
  /** permission bits incl. setuid/setgid/sticky (0o7777) */
  mode: number;
  uid: number;
  gid: number;
  /** seconds */
  mtime: number;
  size?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer>;
  content?: { path: string } | { data: Buffer };
}

/** The destination image's current filesystem, read-only (implemented by cache/). */
export interface RootfsReader {
  /** rootfs-absolute result, symlinks scoped to the rootfs */
  resolve(path: string, followLast?: boolean): Promise<string>;
  lstat(path: string): Promise<RootfsStat | undefined>;
  readFile(path: string): Promise<Buffer | undefined>;
}

export interface RootfsStat {
  type: LayerEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname?: string;
}

/** A rootfs that can also be listed: what COPY --from needs from another stage's snapshot. */
export interface RootfsTreeReader extends RootfsReader {
  readdir(path: string): Promise<string[]>;
}
