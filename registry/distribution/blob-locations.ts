// Which repositories of which registry are known to hold a blob, learnt from pulls and pushes
// (containers/image calls this the blob info cache). A push consults it to try a cross-repository
// mount instead of uploading bytes the registry already has. With a file (the store keeps one) it
// outlives the process: `tsbuild build` pulls FROM registry/base, a later `tsbuild push
// registry/app` mounts the base layers from there.

import { existsSync, promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../cache/fsutil.js';
import { tryFileLock } from '../../cache/lock.js';

/** Digests remembered at most (the least recently learnt go first); each with a few repositories. */
const MAX_DIGESTS = 4096;
const MAX_REPOS_PER_DIGEST = 8;

type Table = Map<string, string[]>; // digest -> ["host/repo", ...], most recently learnt last

export class BlobLocations {
  private static readonly byFile = new Map<string, BlobLocations>();
  private static readonly inMemory = new BlobLocations(undefined);

  /** The process-wide record kept in `file`, or only in memory when there is none. */
  static for(file: string | undefined): BlobLocations {
    if (file === undefined) return BlobLocations.inMemory;
    let b = BlobLocations.byFile.get(file);
    if (!b) BlobLocations.byFile.set(file, (b = new BlobLocations(file)));
    return b;
  }

  /** For tests: forget what this process learnt (files are left alone). */
  static clear(): void {
    BlobLocations.inMemory.table.clear();
    BlobLocations.byFile.clear();
  }

  private readonly table: Table = new Map();
  /** What this process learnt, in order: merged into the file's newest content when saved. */
  private learnt: [string, string][] = [];
  /** Locations a registry refused to mount from: taken out of the file when saved. */
  private forgotten: [string, string][] = [];
  private loading: Promise<void> | undefined;
  private saving: Promise<void> = Promise.resolve();

  private constructor(private readonly file: string | undefined) {}

  record(registry: string, repository: string, digest: string): void {
    const loc = `${registry}/${repository}`;
    add(this.table, digest, loc);
    trim(this.table); // a long-lived host process pulling and pushing for days stays bounded too
    if (this.file !== undefined) this.learnt.push([digest, loc]);
  }

  /** The blob is not (or no longer) to be mounted from there: not offered again, here or (once saved) by later processes. */
  forget(registry: string, repository: string, digest: string): void {
    const loc = `${registry}/${repository}`;
    if (this.file !== undefined) this.forgotten.push([digest, loc]);
    this.learnt = this.learnt.filter(([d, l]) => d !== digest || l !== loc);
    remove(this.table, digest, loc);
  }

  /** Other repositories of the same registry that hold the blob, most recently learnt first. */
  async mountCandidates(registry: string, repository: string, digest: string): Promise<string[]> {
    if (this.file !== undefined) await (this.loading ??= this.load());
    const out: string[] = [];
    for (const loc of this.table.get(digest) ?? []) {
      if (!loc.startsWith(registry + '/')) continue;
      const repo = loc.slice(registry.length + 1);
      if (repo !== repository) out.push(repo);
    }
    return out.reverse();
  }

  /**
   * Write what was learnt into the file, under the store's kind of lock so that concurrent savers
   * (parallel stages, other processes) merge rather than overwrite one another; written whole and
   * renamed into place, so a reader never sees half a file, and only when it learnt something the
   * file does not hold. A cache: failures are ignored.
   */
  save(): Promise<void> {
    // One save at a time in this process (clients closing together); other processes: the lock.
    const run = this.saving.then(() => this.saveNow());
    this.saving = run;
    return run;
  }

  private async saveNow(): Promise<void> {
    if (this.file === undefined || (this.learnt.length === 0 && this.forgotten.length === 0)) return;
    const file = this.file;
    const learnt = this.learnt;
    const forgotten = this.forgotten;
    this.learnt = [];
    this.forgotten = [];
    try {
      // A warm push re-learns what the file holds: one read, no lock, no write.
      const current = await readTable(file);
      const news = learnt.some(([digest, loc]) => !current.get(digest)?.includes(loc)) || forgotten.some(([digest, loc]) => current.get(digest)?.includes(loc));
      if (!news) return;
      // Only a cache: when another process holds the lock (or a stopped one does), skip the save
      // rather than keep a finished push waiting.
      const release = await tryFileLock(`${file}.lock`);
      if (!release) return;
      try {
        const before = await readTable(file);
        const merged = new Map(before);
        for (const [digest, loc] of learnt) add(merged, digest, loc);
        for (const [digest, loc] of forgotten) remove(merged, digest, loc);
        trim(merged);
        if (sameEntries(before, merged)) return;
        const dir = dirname(file);
        const tmpDir = existsSync(join(dir, 'tmp')) ? join(dir, 'tmp') : dir; // the store's tmp: cleaned after a crash
        await writeFileAtomic(file, JSON.stringify({ version: 1, blobs: Object.fromEntries(merged) }), tmpDir);
      } finally {
        await release();
      }
    } catch {
      /* the next push uploads instead of mounting: slower, not wrong */
    }
  }

  private async load(): Promise<void> {
    const known = await readTable(this.file!);
    // What this process learnt already is newer than the file: keep it last.
    for (const [digest, locs] of this.table) for (const loc of locs) add(known, digest, loc);
    trim(known);
    this.table.clear();
    for (const [digest, locs] of known) this.table.set(digest, locs);
  }
}

function remove(t: Table, digest: string, loc: string): void {
  const locs = t.get(digest)?.filter((l) => l !== loc);
  if (locs === undefined) return;
  if (locs.length > 0) t.set(digest, locs);
  else t.delete(digest);
}

/** The least recently learnt digests go beyond MAX_DIGESTS. */
function trim(t: Table): void {
  for (const digest of t.keys()) {
    if (t.size <= MAX_DIGESTS) break;
    t.delete(digest);
  }
}

function add(t: Table, digest: string, loc: string): void {
  const locs = (t.get(digest) ?? []).filter((l) => l !== loc);
  locs.push(loc);
  if (locs.length > MAX_REPOS_PER_DIGEST) locs.shift();
  t.delete(digest); // re-inserted: most recently learnt digests are the last evicted
  t.set(digest, locs);
}

async function readTable(file: string): Promise<Table> {
  try {
    const parsed = JSON.parse(await fsp.readFile(file, 'utf8')) as { version?: number; blobs?: Record<string, unknown> };
    const t: Table = new Map();
    if (parsed.version !== 1 || typeof parsed.blobs !== 'object' || parsed.blobs === null) return t;
    for (const [digest, locs] of Object.entries(parsed.blobs)) {
      if (Array.isArray(locs)) t.set(digest, locs.filter((l): l is string => typeof l === 'string'));
    }
    return t;
  } catch {
    return new Map(); // missing or damaged: start afresh
  }
}

/** The same digests in the same repositories, whatever the order (order only decides eviction). */
function sameEntries(a: Table, b: Table): boolean {
  if (a.size !== b.size) return false;
  for (const [digest, locs] of b) {
    const other = a.get(digest);
    if (!other || other.length !== locs.length || !locs.every((l) => other.includes(l))) return false;
  }
  return true;
}
