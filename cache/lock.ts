// A cross-process exclusive lock: a lock file created with O_EXCL that holds the owner's pid.
// Locks left by dead processes are broken. Within one process, a promise chain per lock path
// serialises callers (the file alone cannot: it would look like our own stale lock).
import { promises as fsp } from 'node:fs';
import { pidAlive, tempName } from './fsutil.js';
import { dirname, join } from 'node:path';

const inProcess = new Map<string, Promise<unknown>>();

export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
  const prev = inProcess.get(lockPath) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const chained = prev.then(() => mine);
  inProcess.set(lockPath, chained);
  await prev;
  try {
    await acquire(lockPath);
    try {
      return await fn();
    } finally {
      await fsp.rm(lockPath, { force: true });
    }
  } finally {
    release();
    if (inProcess.get(lockPath) === chained) inProcess.delete(lockPath);
  }
}

async function acquire(lockPath: string): Promise<void> {
  let delay = 5;
  for (;;) {
    try {
      const fh = await fsp.open(lockPath, 'wx', 0o644);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = await readOwner(lockPath);
    // Our own pid in the file while this process is not holding it means a leftover from a crash of
    // an earlier incarnation (pid reuse) — we serialise in-process above, so it cannot be live.
    if (owner !== undefined && (owner === process.pid || !pidAlive(owner))) {
      await breakStale(lockPath, owner);
      continue;
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 100);
  }
}

async function readOwner(lockPath: string): Promise<number | undefined> {
  try {
    const s = (await fsp.readFile(lockPath, 'utf8')).trim();
    // An empty file is a lock being written right now; treat as held.
    return /^\d+$/.test(s) ? Number(s) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Rename the stale lock away (atomic, so only one breaker wins), then check that what we moved is
 * still the stale one; if a live process took the lock in between, put it back.
 */
async function breakStale(lockPath: string, stalePid: number): Promise<void> {
  const aside = join(dirname(lockPath), tempName('stale-lock'));
  try {
    await fsp.rename(lockPath, aside);
  } catch {
    return; // someone else broke it first
  }
  const owner = await readOwner(aside);
  if (owner !== stalePid) {
    try {
      await fsp.link(aside, lockPath); // fails (EEXIST) rather than clobbering a newer lock
    } catch {
      // the live owner's lock is gone; it will notice nothing until it removes lockPath (force)
    }
  }
  await fsp.rm(aside, { force: true });
}
