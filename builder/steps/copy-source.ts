// Where COPY/ADD read from: the build context (filtered by the ignore file, owners reset to 0:0 as
// BuildKit's local source does) or another stage's/image's rootfs (COPY --from, owners kept).

import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import { IgnoreMatcher } from '../context/ignore.js';
import { joinRel } from '../context/paths.js';
import { undecodableNames } from '../../oci/file-names.js';
import { UserError } from '../../oci/errors.js';
import type { LayerEntry, LayerEntryType, RootfsTreeReader } from './layer-entry.js';
import { fileTypeOfMode } from '../../cache/fsutil.js';
import { lstatAt, LSTAT_FIELDS } from '../../native/index.js';

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
  /** Optional: visible children with their stats in readdir()'s order, for sources that have them at hand. */
  children?(rel: string): SourceChild[];
}

export interface SourceChild<S extends SourceStat = SourceStat> {
  name: string;
  /** Source-relative path of the child. */
  rel: string;
  st: S;
}


/** A context entry whose name is not UTF-8: `name` and `rel` as Node reads them (U+FFFD for the bad bytes), `shown` with `\xNN` escapes. */
export interface UndecodableChild {
  name: string;
  rel: string;
  shown: string;
}

/**
 * Stop the build when a directory being copied (or hashed for the cache key) holds a context entry
 * whose name is not UTF-8 and that `copied(name, rel)` says would be taken: tsbuild cannot carry the
 * name, and leaving the file out of the layer unsaid would be worse.
 */
export function refuseUndecodable(src: CopySource, dirRel: string, copied: (b: UndecodableChild) => boolean): void {
  if (!(src instanceof ContextSource)) return;
  for (const b of src.undecodableChildren(dirRel)) {
    if (copied(b)) throw new UserError(`the build context has a file name that is not UTF-8: "${b.shown}"`, { hint: 'tsbuild cannot copy such names yet: rename the file, or exclude it (.containerignore, or COPY --exclude)' });
  }
}

/** A context entry's lstat as the cache key also needs it (the stat cache's change detectors). */
export interface ContextStat extends SourceStat {
  /** Milliseconds with sub-millisecond fraction (what Stats gives without BigInts). */
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  rdev: number;
}

/**
 * The build context directory seen through its ignore matcher. Every answer is remembered for the
 * object's life, which is one build (see buildContextSource): the cache key and the COPY/ADD steps
 * then lstat each context file once, as the one context BuildKit would have received.
 *
 * The file system is read with synchronous calls: a 20,000-file context took ~1.2 s of thread-pool
 * round trips (two per file) and ~0.2 s this way; no call waits on anything but the local disk.
 */
export class ContextSource implements CopySource {
  readonly kind = 'context' as const;
  /** The context directory, absolute and normalised (file paths are this + '/' + rel). */
  private readonly root: string;
  /** Per path: its lstat (null: missing) and, once asked, what the ignore file leaves of it. */
  private readonly known = new Map<string, { raw: ContextStat | null; visible?: ContextStat | null }>();
  private readonly listings = new Map<string, string[]>();
  private readonly kids = new Map<string, SourceChild<ContextStat>[]>();
  private readonly visibleDirs = new Map<string, boolean>();
  private readonly undecodable = new Map<string, UndecodableChild[]>();

  /** `batchStat`: lstat a directory's entries in one native call when the addon is there (see statChildren). */
  constructor(readonly dir: string, readonly matcher: IgnoreMatcher = new IgnoreMatcher([]), private readonly batchStat = true) {
    this.root = path.resolve(dir);
  }

  async lstat(rel: string): Promise<SourceStat | undefined> {
    return this.lstatSync(rel);
  }

  async readdir(rel: string): Promise<string[]> {
    return this.readdirSync(rel);
  }

  async content(rel: string): Promise<{ path: string }> {
    return { path: this.abs(rel) };
  }

  /** lstat after the ignore file: undefined when missing or hidden by it. */
  lstatSync(rel: string): ContextStat | undefined {
    const k = this.lookup(rel);
    if (k.visible === undefined) {
      const st = k.raw;
      k.visible = st && rel !== '' && this.matcher.ignores(rel, st.type === 'dir') && !(st.type === 'dir' && this.hasVisible(rel)) ? null : st;
    }
    return k.visible ?? undefined;
  }

  /** Visible names in a directory, sorted by UTF-16 code units. */
  readdirSync(rel: string): string[] {
    return this.children(rel).map((c) => c.name);
  }

  /** Visible children of a directory with their stats, sorted by name (UTF-16 code units). */
  children(rel: string): SourceChild<ContextStat>[] {
    let out = this.kids.get(rel);
    if (!out) {
      const names = this.names(rel);
      // Each child's path made once: the lstat batch and the listing key on the same string.
      const rels = names.map((name) => joinRel(rel, name));
      this.statChildren(rel, names, rels);
      out = [];
      for (let i = 0; i < names.length; i++) {
        // Sorted, so a real "x\uFFFD" and an undecodable name read as the same string sit side by side.
        if (i > 0 && names[i] === names[i - 1]) continue;
        const st = this.lstatSync(rels[i]!);
        if (st) out.push({ name: names[i]!, rel: rels[i]!, st });
      }
      this.kids.set(rel, out);
      const bad = [...undecodableNames(this.abs(rel), names)]
        .map(([name, shown]) => ({ name, rel: joinRel(rel, name), shown: joinRel(rel, shown) }))
        .filter((b) => !this.matcher.ignores(b.rel, false));
      if (bad.length > 0) this.undecodable.set(rel, bad);
    }
    return out;
  }

  /**
   * The entries of a directory whose names readdir could not decode (not UTF-8), apart from those the
   * ignore file excludes (its patterns see U+FFFD in place of the bad bytes): they lstat as missing,
   * so they are not among children(). See refuseUndecodable.
   */
  undecodableChildren(rel: string): UndecodableChild[] {
    this.children(rel);
    return this.undecodable.get(rel) ?? [];
  }

  /** lstat, ignore file or not; undefined when missing. */
  rawStat(rel: string): ContextStat | undefined {
    return this.lookup(rel).raw ?? undefined;
  }

  private lookup(rel: string): { raw: ContextStat | null; visible?: ContextStat | null } {
    let k = this.known.get(rel);
    if (!k) {
      k = { raw: this.lstatUncached(rel) ?? null };
      this.known.set(rel, k);
    }
    return k;
  }

  /** All names in a directory (ignored ones too), sorted by UTF-16 code units. */
  private names(rel: string): string[] {
    let names = this.listings.get(rel);
    if (!names) {
      names = readdirSync(this.abs(rel)).sort();
      this.listings.set(rel, names);
    }
    return names;
  }

  private lstatUncached(rel: string): ContextStat | undefined {
    const abs = this.abs(rel);
    let st: Stats | undefined;
    try {
      st = lstatSync(abs, { throwIfNoEntry: false });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // ENAMETOOLONG: a name no file can have is simply not in the context (found by fuzzing).
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG') return undefined;
      throw e;
    }
    return st ? contextStat(() => abs, st) : undefined;
  }

  /**
   * The lstat of every entry of a directory not asked about yet, in one native call (fstatat each,
   * no Stats object per file): ~40% of a 20,000-file context walk was Node's lstatSync. Without the
   * addon (or with batchStat off) each entry is lstat'ed when first asked, as before.
   */
  private statChildren(rel: string, allNames: string[], allRels: string[]): void {
    if (!this.batchStat) return;
    const todo: number[] = [];
    for (let i = 0; i < allRels.length; i++) if (!this.known.has(allRels[i]!)) todo.push(i);
    if (todo.length < 2) return;
    const stats = lstatAt(this.abs(rel), todo.length === allNames.length ? allNames : todo.map((i) => allNames[i]!));
    if (!stats) return;
    for (let j = 0; j < todo.length; j++) {
      const f = j * LSTAT_FIELDS;
      const childRel = allRels[todo[j]!]!;
      const mode = stats[f]!;
      const raw = mode < 0 ? null : contextStat(() => this.abs(childRel), { mode, size: stats[f + 1]!, mtimeMs: stats[f + 2]!, ctimeMs: stats[f + 3]!, ino: stats[f + 4]!, rdev: stats[f + 5]!, nlink: stats[f + 6]!, dev: stats[f + 7]! });
      this.known.set(childRel, { raw });
    }
  }

  /** Paths here are clean (cleaned sources, names joined with '/'): no path.join needed. */
  private abs(rel: string): string {
    if (rel === '') return this.root;
    return this.root === '/' ? '/' + rel : this.root + '/' + rel;
  }

  /** An ignored directory exists in the sent context only if something below it is re-included. */
  private hasVisible(rel: string): boolean {
    let v = this.visibleDirs.get(rel);
    if (v === undefined) {
      v = this.matcher.mayReinclude(rel) && this.names(rel).some((n) => this.lstatSync(joinRel(rel, n)) !== undefined);
      this.visibleDirs.set(rel, v);
    }
    return v;
  }
}

/** The stat numbers a context entry is described by (a Stats object has them all). */
type StatNumbers = Pick<Stats, 'mode' | 'size' | 'mtimeMs' | 'ctimeMs' | 'ino' | 'rdev' | 'nlink' | 'dev'>;

/** `abs` is asked for only by a symlink (its target is read): 20,000 path strings fewer for a large context. */
function contextStat(abs: () => string, st: StatNumbers): ContextStat {
  const type = fileTypeOfMode(st.mode);
  const out: ContextStat = {
    type,
    mode: st.mode & 0o7777,
    uid: 0,
    gid: 0,
    size: type === 'file' ? st.size : 0,
    mtime: Math.floor(st.mtimeMs / 1000),
    mtimeMs: st.mtimeMs,
    ctimeMs: st.ctimeMs,
    ino: st.ino,
    rdev: st.rdev,
  };
  if (type === 'symlink') out.linkname = readlinkSync(abs());
  if (type === 'char' || type === 'block') {
    out.devmajor = Number((BigInt(st.rdev) >> 8n) & 0xfffn);
    out.devminor = Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & 0xfff00n));
  }
  if (type === 'file' && st.nlink > 1) out.inode = `${st.dev}:${st.ino}`;
  return out;
}

const perBuild = new WeakMap<object, ContextSource>();

/**
 * The one ContextSource of a build, keyed by the build's options object (it lives as long as they
 * do): the cache key's hashing and every COPY/ADD from the context share its answers.
 */
export function buildContextSource(build: { contextDir: string; ignorePatterns: string[] }): ContextSource {
  let src = perBuild.get(build);
  if (!src) {
    src = new ContextSource(build.contextDir, new IgnoreMatcher(build.ignorePatterns));
    perBuild.set(build, src);
  }
  return src;
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

  async content(rel: string): Promise<{ path: string } | { data: Buffer }> {
    // Snapshot files never change: the layer writer can stream them from where they are.
    const path = await this.reader.readablePath?.('/' + rel);
    if (path !== undefined) return { path };
    const data = await this.reader.readFile('/' + rel);
    if (!data) throw new Error(`rootfs source lost /${rel} while copying`);
    return { data };
  }
}
