// Accumulates the entries of one COPY/ADD layer: the destination view (the rootfs overlaid with
// what this step already planned), creation of missing parent directories, and the final sort with
// hard links re-pointed at the first path of each inode.

import { UserError, type SourceLocation } from '../../oci/errors.js';
import { ancestorsRel, compareBytes, toRootRel } from '../context/paths.js';
import type { Owner } from './copy-owner.js';
import type { LayerEntry, RootfsReader, RootfsStat } from './layer-entry.js';

export interface PlannedEntry extends LayerEntry {
  /** Source inode identity; equal values become hard links. */
  inode?: string;
}

export class LayerPlan {
  private readonly entries = new Map<string, PlannedEntry>();

  constructor(
    readonly dest: RootfsReader,
    /** Owner of directories this step creates (the --chown owner, else root). */
    readonly createdOwner: Owner,
    readonly now: number,
    readonly location: SourceLocation,
  ) {}

  /** What is at a rootfs-relative path after this step so far. */
  async stat(rel: string): Promise<Pick<RootfsStat, 'type'> | undefined> {
    const planned = this.entries.get(rel);
    if (planned) return planned;
    return this.dest.lstat('/' + rel);
  }

  /** Resolve a rootfs path (symlinks scoped to the rootfs) to a root-relative path. */
  async resolve(absPath: string, followLast: boolean): Promise<string> {
    return toRootRel(await this.dest.resolve(absPath, followLast));
  }

  /** Make every ancestor of `rel` a directory: existing ones are recorded with their current
   * metadata, missing ones created 0755 owned by `createdOwner` (fsutil MkdirAll). */
  async ensureParents(rel: string): Promise<void> {
    for (const a of ancestorsRel(rel)) await this.ensureDir(a);
  }

  async ensureDir(rel: string): Promise<void> {
    if (rel === '') return;
    const planned = this.entries.get(rel);
    if (planned) {
      if (planned.type !== 'dir') this.fail(`cannot copy to non-directory: /${rel}`);
      return;
    }
    const st = await this.dest.lstat('/' + rel);
    if (st) {
      if (st.type !== 'dir') this.fail(`cannot copy to non-directory: /${rel}`);
      this.entries.set(rel, { path: rel, type: 'dir', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime });
      return;
    }
    this.entries.set(rel, { path: rel, type: 'dir', mode: 0o755, ...this.createdOwner, mtime: this.now });
  }

  put(entry: PlannedEntry): void {
    this.entries.set(entry.path, entry);
  }

  get(rel: string): PlannedEntry | undefined {
    return this.entries.get(rel);
  }

  fail(message: string): never {
    throw new UserError(message, { location: this.location });
  }

  /** Entries sorted bytewise by path (parents first); repeated inodes become hard links. */
  finish(): LayerEntry[] {
    const sorted = [...this.entries.values()].sort((a, b) => compareBytes(a.path, b.path));
    const firstByInode = new Map<string, string>();
    return sorted.map(({ inode, ...e }) => {
      if (inode === undefined || e.type !== 'file') return e;
      const first = firstByInode.get(inode);
      if (first === undefined) {
        firstByInode.set(inode, e.path);
        return e;
      }
      const { content: _c, ...rest } = e;
      return { ...rest, type: 'hardlink' as const, linkname: first, size: 0 };
    });
  }
}
