// A cross-process exclusive lock: a lock file that holds the owner's pid. It appears under its
// name already written (a candidate file hard-linked into place), so a process killed at any moment
// leaves either no lock or one naming a dead pid, which the next caller breaks. (Creating the lock
// with O_EXCL and then writing the pid left an empty file when killed in between, and every later
// caller waited on it for ever.) Within one process, a promise chain per lock path serialises callers
// (the file alone cannot: it would look like our own stale lock).
import { promises as fsp } from 'node:fs';
import { pidAlive, tempName, tempNamePid } from './fsutil.js';
import { basename, dirname, join } from 'node:path';

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

/**
 * Take the lock only if nobody holds it: the release function, or undefined when it is held (by this
 * process or a live other one). For callers that do something else rather than wait.
 */
export async function tryFileLock(lockPath: string): Promise<(() => Promise<void>) | undefined> {
  if (inProcess.has(lockPath)) return undefined;
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  inProcess.set(lockPath, mine);
  const done = () => {
    release();
    if (inProcess.get(lockPath) === mine) inProcess.delete(lockPath);
  };
  let taken = false;
  try {
    taken = await acquire(lockPath, false);
  } finally {
    if (!taken) done();
  }
  if (!taken) return undefined;
  return async () => {
    await fsp.rm(lockPath, { force: true });
    done();
  };
}

/** Take the lock through a candidate file: waiting while a live process holds it, or (`wait` false) not. */
async function acquire(lockPath: string, wait = true): Promise<boolean> {
  const candidate = `${lockPath}.${tempName('candidate')}`;
  await fsp.writeFile(candidate, String(process.pid), { mode: 0o644 });
  let taken: boolean;
  try {
    taken = await takeOnce(lockPath, candidate);
    for (let delay = 5; !taken && wait; delay = Math.min(delay * 2, 100)) {
      await new Promise((r) => setTimeout(r, delay));
      taken = await takeOnce(lockPath, candidate);
    }
  } finally {
    await fsp.rm(candidate, { force: true });
  }
  if (taken) await removeDeadLeftovers(lockPath);
  return taken;
}

/** Link the candidate into place, breaking stale locks on the way; false while a live process holds it. */
async function takeOnce(lockPath: string, candidate: string): Promise<boolean> {
  for (;;) {
    try {
      await fsp.link(candidate, lockPath); // fails with EEXIST while anyone holds the lock
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = await readOwner(lockPath);
    // Our own pid in the file while this process is not holding it means a leftover from a crash of
    // an earlier incarnation (pid reuse) — we serialise in-process above, so it cannot be live.
    const stale = owner === undefined ? await emptyAndOld(lockPath) : owner === process.pid || !pidAlive(owner);
    if (!stale) return false;
    await breakStale(lockPath, owner);
  }
}

/**
 * An empty lock file is what versions before the candidate link left when killed between creating
 * and writing it. Never written now, so one that has sat empty for a while is such a leftover.
 */
async function emptyAndOld(lockPath: string): Promise<boolean> {
  const st = await fsp.stat(lockPath).catch(() => undefined);
  return st !== undefined && st.size === 0 && Date.now() - st.mtimeMs > EMPTY_LOCK_STALE_MS;
}

const EMPTY_LOCK_STALE_MS = 10_000;

/** Candidates and set-aside locks of processes killed before they removed them. */
async function removeDeadLeftovers(lockPath: string): Promise<void> {
  const prefix = `${basename(lockPath)}.`;
  const names = await fsp.readdir(dirname(lockPath)).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = tempNamePid(name.slice(prefix.length));
    if (pid !== undefined && pid !== process.pid && !pidAlive(pid)) await fsp.rm(join(dirname(lockPath), name), { force: true });
  }
}

async function readOwner(lockPath: string): Promise<number | undefined> {
  try {
    const s = (await fsp.readFile(lockPath, 'utf8')).trim();
    // Not a pid: a lock file of a foreign writer; treat as held.
    return /^\d+$/.test(s) ? Number(s) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Rename the stale lock away (atomic, so only one breaker wins), then check that what we moved is
 * still the stale one; if a live process took the lock in between, put it back.
 */
async function breakStale(lockPath: string, stalePid: number | undefined): Promise<void> {
  const aside = `${lockPath}.${tempName('stale')}`;
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
