// Persistent stat cache for build-context hashing: (path, size, mtime, ctime, inode) → content digest,
// one file per context directory under <root>/cache/stat/. An unchanged context is then verified with
// lstat alone; a file is read only when one of those fields moved.
//
// Racy entries: a file modified in the same timestamp tick as it was hashed could change again without
// its mtime/ctime moving. Linux file times come from a coarse clock (≤ 10 ms ticks), so an entry is only
// remembered when the file's times are at least RACY_MS older than the moment its contents were read;
// a younger file is simply re-read next time. Times are kept as the milliseconds (with their
// fraction) that plain Stats give: asking for BigInt stats to get nanoseconds cost ~30 µs per file,
// and any later change sets ctime at least RACY_MS past a remembered one, which milliseconds tell apart.
//
// Deleted files: when the cache is saved after a run that hashed the context, the entries that run did
// not look up are lstat'ed and dropped if their file is gone (or no longer a regular file), so the
// cache does not keep every file the context ever had. Entries looked up are live and cost nothing;
// an unchanged rebuild looks up everything it used before, so the check costs only when the selection
// changed. Files that still exist stay: another Containerfile on the same context may COPY them.
import { createHash } from 'node:crypto';
import { closeSync, constants, openSync, promises as fsp, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { hashFiles as nativeHashFiles } from '../native/index.js';
import { writeFileAtomic } from './fsutil.js';

const RACY_MS = 100;
/** Bytes hashed on the event loop between its turns. */
const YIELD_BYTES = 4 << 20;
/** Below this many files one thread hashes them: the pool round trip would cost more. */
const NATIVE_HASH_MIN = 64;
/** Pool threads hashing at once (libuv's pool has 4; leave some for other file work). */
const NATIVE_HASH_PARTS = 3;
/** lstat calls in flight when pruning entries of deleted files. */
const PRUNE_BATCH = 64;
/** 2: times in milliseconds as numbers (1 had nanosecond strings). */
const VERSION = 2;

/** [size, mtimeMs, ctimeMs, ino, digest] — compact, since a context may have tens of thousands. */
type Row = [number, number, number, number, string];

/** What says a file is unchanged: fields of a plain (non-BigInt) Stats. */
export interface FileIdentity {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

interface StatFile {
  version: number;
  dir: string;
  entries: Record<string, Row>;
}

export class StatCache {
  private entries = new Map<string, Row>();
  private dirty = false;
  private loaded?: Promise<void>;
  /** Paths looked up this run: their files exist (saving checks only the others). */
  private readonly seen = new Set<string>();
  /** Files hashed this run, reads saved: for tests and benchmarks. */
  readonly counters = { hits: 0, reads: 0, pruned: 0 };

  constructor(
    /** <root>/cache/stat/<id>.json */
    private readonly file: string,
    private readonly contextDir: string,
    private readonly tmpDir: string,
  ) {}

  static forContext(storeRoot: string, contextDir: string, tmpDir: string): StatCache {
    const id = createHash('sha256').update(contextDir).digest('hex').slice(0, 32);
    return new StatCache(join(storeRoot, 'cache', 'stat', `${id}.json`), contextDir, tmpDir);
  }

  private load(): Promise<void> {
    this.loaded ??= (async () => {
      try {
        const f = JSON.parse(await fsp.readFile(this.file, 'utf8')) as StatFile;
        if (f.version === VERSION && f.dir === this.contextDir && f.entries && typeof f.entries === 'object') {
          this.entries = new Map(Object.entries(f.entries));
        }
      } catch {
        // Missing or unreadable: start empty (it is only a cache).
      }
    })();
    return this.loaded;
  }

  /** Load the saved entries (once); lookups with cached() need it. */
  ready(): Promise<void> {
    return this.load();
  }

  /** The remembered digest of a file whose stat is unchanged, else undefined (after ready()). */
  cached(rel: string, st: FileIdentity): string | undefined {
    this.seen.add(rel);
    const row = this.entries.get(rel);
    if (row && row[0] === st.size && row[1] === st.mtimeMs && row[2] === st.ctimeMs && row[3] === st.ino) {
      this.counters.hits++;
      return row[4];
    }
    return undefined;
  }

  /** sha256 digest of a regular file's contents, from the cache when its stat is unchanged. */
  async digest(rel: string, st: FileIdentity): Promise<string> {
    await this.load();
    const hit = this.cached(rel, st);
    if (hit !== undefined) return hit;
    const readStart = Date.now();
    const digest = await hashFile(join(this.contextDir, rel));
    this.remember(rel, st, digest, readStart);
    return digest;
  }

  /**
   * Digests of many files not in the cache, read and hashed by the native addon on as many pool
   * threads as there are cores (one event-loop thread otherwise reads, hashes and waits for every
   * file in turn: on a first build of 20,000 small files, half its time before the layer starts).
   * Files the addon could not read, and every file without the addon, go through digest() one by
   * one, which also reports their errors as it always has.
   */
  async digestMany(items: { rel: string; st: FileIdentity }[]): Promise<string[]> {
    await this.load();
    const out = new Array<string>(items.length);
    const readStart = Date.now();
    const parts = Math.max(1, Math.min(availableParallelism(), NATIVE_HASH_PARTS));
    const batches = items.length >= NATIVE_HASH_MIN ? Array.from({ length: parts }, (_, k) => items.map((_, i) => i).filter((i) => i % parts === k)) : [];
    const hashed = batches.length > 0 ? await Promise.all(batches.map((idx) => nativeHashFiles(idx.map((i) => join(this.contextDir, items[i]!.rel))))) : [];
    hashed.forEach((digests, k) => {
      if (!digests) return;
      batches[k]!.forEach((i, j) => {
        const d = digests[j]!;
        if (d.startsWith('sha256:')) {
          this.remember(items[i]!.rel, items[i]!.st, d, readStart);
          out[i] = d;
        }
      });
    });
    let read = 0;
    for (let i = 0; i < items.length; i++) {
      if (out[i] !== undefined) continue;
      out[i] = await this.digest(items[i]!.rel, items[i]!.st);
      read += items[i]!.st.size;
      if (read >= YIELD_BYTES) {
        read = 0;
        await new Promise<void>((r) => setImmediate(r)); // other stages' work between big reads
      }
    }
    return out;
  }

  /** Record a digest computed by the caller from contents read at `readStart` (Date.now()). */
  remember(rel: string, st: FileIdentity, digest: string, readStart: number): void {
    this.seen.add(rel);
    this.counters.reads++;
    const newest = st.mtimeMs > st.ctimeMs ? st.mtimeMs : st.ctimeMs;
    if (newest + RACY_MS <= readStart) {
      this.entries.set(rel, [st.size, st.mtimeMs, st.ctimeMs, st.ino, digest]);
      this.dirty = true;
    } else if (this.entries.delete(rel)) {
      this.dirty = true;
    }
  }

  /** Drop entries not looked up this run whose path is no longer a regular file; true if any went. */
  private async pruneDeleted(): Promise<boolean> {
    const unseen = [...this.entries.keys()].filter((rel) => !this.seen.has(rel));
    let removed = 0;
    for (let i = 0; i < unseen.length; i += PRUNE_BATCH) {
      await Promise.all(
        unseen.slice(i, i + PRUNE_BATCH).map(async (rel) => {
          try {
            if ((await fsp.lstat(join(this.contextDir, rel))).isFile()) return;
          } catch (e) {
            const code = (e as NodeJS.ErrnoException).code;
            // Only a definite "not there" removes an entry: EACCES & co. say nothing about the file.
            if (code !== 'ENOENT' && code !== 'ENOTDIR') return;
          }
          this.entries.delete(rel);
          removed++;
        }),
      );
    }
    this.counters.pruned += removed;
    return removed > 0;
  }

  /** Write the cache back (atomically) when something changed. Failures are ignored: it is a cache. */
  async save(): Promise<void> {
    // Never loaded: no lookups happened and there is nothing to prune (nor to overwrite with nothing).
    if (this.loaded) {
      await this.loaded;
      if (await this.pruneDeleted()) this.dirty = true;
    }
    if (!this.dirty) return;
    this.dirty = false;
    const f: StatFile = { version: VERSION, dir: this.contextDir, entries: Object.fromEntries(this.entries) };
    try {
      await fsp.mkdir(join(this.file, '..'), { recursive: true });
      await writeFileAtomic(this.file, JSON.stringify(f), this.tmpDir);
    } catch {
      // best effort
    }
  }
}

/** Bytes read between turns of the event loop while hashing. */
const SLICE = 4 << 20;
let scratch: Buffer | undefined;

/**
 * sha256 of a file's contents, read with plain synchronous reads into one reused buffer (a promise
 * read of a small file is four thread-pool round trips), giving the event loop a turn every SLICE
 * bytes so a big file does not freeze it.
 */
export async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  // Non-blocking: a file swapped for a FIFO after its lstat must not hang the build in open().
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    for (;;) {
      const buf = (scratch ??= Buffer.allocUnsafeSlow(SLICE));
      const n = readSync(fd, buf, 0, SLICE, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      if (n === SLICE) await new Promise<void>((r) => setImmediate(r));
    }
  } finally {
    closeSync(fd);
  }
  return 'sha256:' + h.digest('hex');
}
