// Accumulates the entries of one COPY/ADD layer: the destination view (the rootfs overlaid with
// what this step already planned), creation of missing parent directories, and the final sort with
// hard links re-pointed at the first path of each inode.

import { UserError, type SourceLocation } from '../../oci/errors.js';
import { ancestorsRel, compareBytes, dirnameRel, toRootRel } from '../context/paths.js';
import type { Owner } from './copy-owner.js';
import type { LayerEntry, RootfsReader, RootfsStat } from './layer-entry.js';

export interface PlannedEntry extends LayerEntry {
  /** Source inode identity; equal values become hard links. */
  inode?: string;
}

export class LayerPlan {
  private readonly entries = new Map<string, PlannedEntry>();
  /** Directories whose ancestors and themselves are planned as directories (ensureParents done). */
  private readonly ensured = new Set<string>();
  /** Paths the destination rootfs has nothing at. */
  private readonly absent = new Set<string>();

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
    return this.destLstat(rel);
  }

  /**
   * The destination rootfs' entry at `rel`. Below a path it does not have, it has nothing either:
   * a COPY into a new directory then asks it once, not once per file (20,000 lookups of
   * ancestors that were all missing).
   */
  private async destLstat(rel: string): Promise<RootfsStat | undefined> {
    if (rel !== '' && this.absent.has(dirnameRel(rel))) {
      this.absent.add(rel);
      return undefined;
    }
    const st = await this.dest.lstat('/' + rel);
    if (!st) this.absent.add(rel);
    return st;
  }

  /** Resolve a rootfs path (symlinks scoped to the rootfs) to a root-relative path. */
  async resolve(absPath: string, followLast: boolean): Promise<string> {
    return toRootRel(await this.dest.resolve(absPath, followLast));
  }

  /** Make every ancestor of `rel` a directory: existing ones are recorded with their current
   * metadata, missing ones created 0755 owned by `createdOwner` (fsutil MkdirAll). */
  async ensureParents(rel: string): Promise<void> {
    const parent = dirnameRel(rel);
    if (parent === '' || this.ensured.has(parent)) return;
    for (const a of ancestorsRel(rel)) {
      await this.ensureDir(a);
      this.ensured.add(a);
    }
  }

  async ensureDir(rel: string): Promise<void> {
    if (rel === '') return;
    const planned = this.entries.get(rel);
    if (planned) {
      if (planned.type !== 'dir') this.fail(`cannot copy to non-directory: /${rel}`);
      return;
    }
    const st = await this.destLstat(rel);
    if (st) {
      if (st.type !== 'dir') this.fail(`cannot copy to non-directory: /${rel}`);
      this.entries.set(rel, { path: rel, type: 'dir', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime });
      return;
    }
    this.entries.set(rel, { path: rel, type: 'dir', mode: 0o755, ...this.createdOwner, mtime: this.now });
  }

  put(entry: PlannedEntry): void {
    // Steps refuse to replace a planned directory with anything else; should one ever do it, the
    // directories below it are no longer known to be there.
    if (entry.type !== 'dir' && this.ensured.size > 0 && this.entries.get(entry.path)?.type === 'dir') this.ensured.clear();
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
