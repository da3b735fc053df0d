// Garbage collection of the store (`tsbuild prune`): dangling images (no names; every image with
// --all), build cache entries (all, or those unused for a while with until=, or the least recently
// used beyond --keep-storage), then the blobs nothing references any more and the snapshots no
// image needs.
//
// "Nothing in use is removed": builds register themselves under the store lock (markBuildActive)
// for as long as they run, and prune does its removals under the same lock. A live build protects
// every cache entry it used since it started (a hit touches the entry); while any build is live,
// no blob, snapshot or cache mount is removed (they may be its base layers, or mounted right now).
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { chainIds, digestHex } from '../oci/digest.js';
import { BuildCache } from './build-cache.js';
import { pidAlive, tempName } from './fsutil.js';
import type { Store } from './store.js';
import { inUserns, usernsRanges } from './userns.js';

export interface PruneOptions {
  /** Remove every image, not only dangling ones; also cache mounts and context stat caches. */
  all?: boolean;
  /** Only what was last used (images: created) more than this many ms ago. */
  untilMs?: number;
  /** Keep the most recently used cache entries whose layers total at most this many bytes. */
  keepStorage?: number;
  now?: number;
}

export interface PruneReport {
  images: string[];
  cacheEntries: number;
  blobs: number;
  snapshots: number;
  bytes: number;
  /** Why some things were kept (a build is running). */
  notes: string[];
}

function activeDir(root: string): string {
  return join(root, 'cache', 'active');
}

/** Register a running build; returns the function that unregisters it. */
export async function markBuildActive(store: Store): Promise<() => Promise<void>> {
  const dir = activeDir(store.root);
  const file = join(dir, tempName('build'));
  await store.withLock(async () => {
    await fsp.mkdir(dir, { recursive: true });
    await fsp.writeFile(file, JSON.stringify({ pid: process.pid, started: Date.now() }));
  });
  return () => fsp.rm(file, { force: true });
}

/** Start time of the oldest live build (Infinity when none); leftovers of dead builds are removed. */
async function oldestLiveBuild(root: string): Promise<number> {
  let oldest = Infinity;
  let names: string[] = [];
  try {
    names = await fsp.readdir(activeDir(root));
  } catch {
    return oldest;
  }
  for (const n of names) {
    const file = join(activeDir(root), n);
    try {
      const { pid, started } = JSON.parse(await fsp.readFile(file, 'utf8')) as { pid: number; started: number };
      if (pid !== process.pid && !pidAlive(pid)) {
        await fsp.rm(file, { force: true });
        continue;
      }
      oldest = Math.min(oldest, started);
    } catch {
      // being written: treat as starting now
      oldest = Math.min(oldest, Date.now());
    }
  }
  return oldest;
}

async function mtimeMs(path: string): Promise<number | undefined> {
  try {
    return (await fsp.lstat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

async function removeTree(path: string): Promise<void> {
  try {
    await fsp.rm(path, { recursive: true, force: true });
  } catch (e) {
    // Rootless snapshots hold files owned by subordinate ids: remove them from inside the namespace.
    if (usernsRanges()) await inUserns({ op: 'rm', paths: [path] });
    else throw e;
  }
}

export async function prune(store: Store, opts: PruneOptions = {}): Promise<PruneReport> {
  const now = opts.now ?? Date.now();
  const cutoff = opts.untilMs !== undefined ? now - opts.untilMs : Infinity;
  const report: PruneReport = { images: [], cacheEntries: 0, blobs: 0, snapshots: 0, bytes: 0, notes: [] };

  // Images first (ImageStore takes the store lock itself for each change).
  for (const rec of await store.images.list()) {
    if (rec.names.length > 0 && !opts.all) continue;
    if (Date.parse(rec.created) >= cutoff) continue;
    await store.images.remove(rec.id);
    report.images.push(rec.id);
  }

  const cache = new BuildCache(store.root, store.tmp);
  await store.withLock(async () => {
    const since = await oldestLiveBuild(store.root);
    if (since !== Infinity) report.notes.push('a build is running: the cache entries it uses, and all blobs, snapshots and cache mounts, are kept');
    const protectedAfter = Math.min(since, cutoff);

    // Cache entries: candidates are those unused since the cutoff (and not used by a live build).
    const entries = await cache.list();
    const candidates = entries.filter((e) => e.usedMs < protectedAfter).sort((a, b) => a.usedMs - b.usedMs);
    let doomed = candidates;
    if (opts.keepStorage !== undefined) {
      // Least recently used go first, until the layers the rest hold fit in keepStorage.
      const sizeOf = new Map<string, number>();
      for (const e of entries) if (e.entry?.layer) sizeOf.set(e.entry.layer.digest, e.entry.layer.size);
      let total = [...sizeOf.values()].reduce((a, b) => a + b, 0);
      const users = new Map<string, number>();
      for (const e of entries) if (e.entry?.layer) users.set(e.entry.layer.digest, (users.get(e.entry.layer.digest) ?? 0) + 1);
      doomed = [];
      for (const e of candidates) {
        if (total <= opts.keepStorage && opts.keepStorage > 0) break; // 0 keeps nothing, metadata entries included
        doomed.push(e);
        const d = e.entry?.layer?.digest;
        if (d) {
          const left = users.get(d)! - 1;
          users.set(d, left);
          if (left === 0) total -= sizeOf.get(d)!;
        }
      }
    }
    for (const e of doomed) await fsp.rm(e.file, { force: true });
    report.cacheEntries = doomed.length;
    // The inputs records only explain misses; drop the ones as old as the entries we dropped.
    const recordsDir = join(cache.dir, 'records');
    for (const n of await fsp.readdir(recordsDir).catch(() => [] as string[])) {
      const m = await mtimeMs(join(recordsDir, n));
      if (m !== undefined && m < protectedAfter && (opts.keepStorage === undefined || doomed.length === candidates.length)) await fsp.rm(join(recordsDir, n), { force: true });
    }

    // What is still referenced: the images' manifests, configs and layers, and the cache's layers.
    const keep = new Set<string>();
    const keepChains = new Set<string>();
    for (const rec of await store.images.list()) {
      keep.add(rec.manifestDigest);
      keep.add('sha256:' + rec.id);
      try {
        const manifest = await store.images.readManifest(rec);
        for (const l of manifest.layers ?? []) keep.add(l.digest);
        const config = await store.images.readConfig(rec);
        for (const c of chainIds(config.rootfs?.diff_ids ?? [])) keepChains.add(digestHex(c));
      } catch {
        // A broken image keeps what it names; nothing more to learn from it.
      }
    }
    for (const e of await cache.list()) {
      if (e.entry?.layer) keep.add(e.entry.layer.digest);
      else if (!e.entry) await fsp.rm(e.file, { force: true }); // unreadable entry: useless
    }
    // A running build may hold blobs nothing names yet (its base image's layers, layers it just
    // wrote): while one runs, blobs and snapshots are all kept.
    if (since !== Infinity) return;
    for await (const digest of store.blobs.list()) {
      if (keep.has(digest)) continue;
      const path = store.blobs.path(digest);
      const size = (await fsp.stat(path).catch(() => undefined))?.size ?? 0;
      await store.blobs.delete(digest);
      report.blobs++;
      report.bytes += size;
    }

    {
      // Snapshots are unpacked copies of image layers: keep the chains of the remaining images.
      const snapDir = store.snapshots.dir;
      for (const n of await fsp.readdir(snapDir).catch(() => [] as string[])) {
        if (!/^[a-f0-9]{64}$/.test(n) || keepChains.has(n)) continue;
        await removeTree(join(snapDir, n));
        report.snapshots++;
      }
      // Short links whose snapshot is gone.
      const ldir = join(snapDir, 'l');
      for (const n of await fsp.readdir(ldir).catch(() => [] as string[])) {
        const target = await fsp.readlink(join(ldir, n)).catch(() => undefined);
        if (target && (await mtimeMs(join(ldir, target))) === undefined) await fsp.rm(join(ldir, n), { force: true });
      }
      if (opts.all) {
        await removeTree(join(store.root, 'cache-mounts'));
        await fsp.rm(join(cache.dir, 'stat'), { recursive: true, force: true });
      }
    }
  });
  return report;
}

/** "10GB", "512m", "1.5GiB", "1000" (bytes) → bytes (binary units, as docker's --keep-storage). */
export function parseSize(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)$/i.exec(s.trim());
  if (!m) return undefined;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * mult);
}
