// Where COPY/ADD read from: the build context (filtered by the ignore file, owners reset to 0:0 as
// BuildKit's local source does) or another stage's/image's rootfs (COPY --from, owners kept).

import { lstat, readdir, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { IgnoreMatcher } from '../context/ignore.js';
import { joinRel } from '../context/paths.js';
import type { LayerEntry, LayerEntryType, RootfsTreeReader } from './layer-entry.js';
import { fileTypeOf } from '../../cache/fsutil.js';

export interface SourceStat {
  type: LayerEntryType | 'socket';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Identity shared by hard links of one file (only set when it has more than one link). */
  inode?: string;
}

export interface CopySource {
  readonly kind: 'context' | 'rootfs';
  /** Never follows symlinks; undefined when missing or hidden by the ignore file. */
  lstat(rel: string): Promise<SourceStat | undefined>;
  /** Visible names in a directory, sorted. */
  readdir(rel: string): Promise<string[]>;
  content(rel: string): Promise<NonNullable<LayerEntry['content']>>;
}


/** The build context directory seen through its ignore matcher. */
export class ContextSource implements CopySource {
  readonly kind = 'context' as const;
  private readonly visibleDirs = new Map<string, Promise<boolean>>();

  constructor(readonly dir: string, readonly matcher: IgnoreMatcher = new IgnoreMatcher([])) {}

  // A COPY lists a directory (which lstats each child to apply the ignore file) and then copies each
  // child (another lstat): remembering answers for the life of one step halves the syscalls of a big tree.
  private readonly stats = new Map<string, Promise<SourceStat | undefined>>();

  lstat(rel: string): Promise<SourceStat | undefined> {
    let p = this.stats.get(rel);
    if (!p) {
      p = this.lstatUncached(rel);
      this.stats.set(rel, p);
    }
    return p;
  }

  private async lstatUncached(rel: string): Promise<SourceStat | undefined> {
    const st = await this.rawLstat(rel);
    if (!st) return undefined;
    if (rel !== '' && this.matcher.ignores(rel, st.isDirectory())) {
      if (!st.isDirectory() || !(await this.hasVisible(rel))) return undefined;
    }
    const out: SourceStat = {
      type: fileTypeOf(st),
      mode: st.mode & 0o7777,
      uid: 0,
      gid: 0,
      size: st.isFile() ? st.size : 0,
      mtime: Math.floor(st.mtimeMs / 1000),
    };
    if (st.isSymbolicLink()) out.linkname = await readlink(this.abs(rel));
    if (st.isCharacterDevice() || st.isBlockDevice()) {
      out.devmajor = Number((BigInt(st.rdev) >> 8n) & 0xfffn);
      out.devminor = Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & 0xfff00n));
    }
    if (st.isFile() && st.nlink > 1) out.inode = `${st.dev}:${st.ino}`;
    return out;
  }

  async readdir(rel: string): Promise<string[]> {
    const names = (await readdir(this.abs(rel))).sort();
    // All children at once: one at a time, a big directory waits on thousands of thread-pool round trips.
    const seen = await Promise.all(names.map((n) => this.lstat(joinRel(rel, n))));
    return names.filter((_, i) => seen[i] !== undefined);
  }

  async content(rel: string): Promise<{ path: string }> {
    return { path: this.abs(rel) };
  }

  private abs(rel: string): string {
    return path.join(this.dir, rel);
  }

  private async rawLstat(rel: string): Promise<Stats | undefined> {
    try {
      return await lstat(this.abs(rel));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // ENAMETOOLONG: a name no file can have is simply not in the context (found by fuzzing).
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG') return undefined;
      throw e;
    }
  }

  /** An ignored directory exists in the sent context only if something below it is re-included. */
  private hasVisible(rel: string): Promise<boolean> {
    let p = this.visibleDirs.get(rel);
    if (!p) {
      p = (async () => {
        if (!this.matcher.mayReinclude(rel)) return false;
        for (const n of await readdir(this.abs(rel))) {
          if (await this.lstat(joinRel(rel, n))) return true;
        }
        return false;
      })();
      this.visibleDirs.set(rel, p);
    }
    return p;
  }
}

/** Another stage's or image's root filesystem (COPY --from). */
export class RootfsSource implements CopySource {
  readonly kind = 'rootfs' as const;
  constructor(readonly reader: RootfsTreeReader) {}

  async lstat(rel: string): Promise<SourceStat | undefined> {
    return this.reader.lstat('/' + rel);
  }

  async readdir(rel: string): Promise<string[]> {
    return ((await this.reader.readdir('/' + rel)) ?? []).sort();
  }

  async content(rel: string): Promise<{ data: Buffer }> {
    const data = await this.reader.readFile('/' + rel);
    if (!data) throw new Error(`rootfs source lost /${rel} while copying`);
    return { data };
  }
}
