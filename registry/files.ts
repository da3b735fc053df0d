// Atomic file writes for transports: content goes to a temp name next to the target, is verified
// and fsynced, then renamed, so a reader never sees a partial blob or index.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pidAlive } from '../cache/fsutil.js';
import { DigestVerifier, type Expected } from './verify.js';

// Temp names carry our pid so a later writer can tell a killed writer's leftovers from a live one's.
const TEMP_RE = /^\.tmp-(\d+)-/;

function tempNameFor(target: string): string {
  return join(dirname(target), `.tmp-${process.pid}-${basename(target)}-${randomBytes(6).toString('hex')}`);
}

/** Remove temp files in `dir` left by writers that are no longer alive (a push killed half way). */
export async function removeStaleTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if (isNotFound(e)) return;
    throw e;
  }
  for (const name of names) {
    const m = TEMP_RE.exec(name);
    if (m && !pidAlive(Number(m[1]))) await rm(join(dir, name), { force: true });
  }
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Stream `content` to `target`, verifying it against `expected`. Returns the size written. */
export async function writeVerifiedFile(target: string, content: Readable, expected: Expected, reference: string): Promise<number> {
  const tmp = tempNameFor(target);
  const verifier = new DigestVerifier(expected, reference);
  try {
    await pipeline(content, verifier, createWriteStream(tmp, { mode: 0o644 }));
    await fsyncFile(tmp);
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return verifier.bytes;
}

/** Write small content (index.json, manifest.json) atomically. */
export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempNameFor(target);
  try {
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOENT' || (e as NodeJS.ErrnoException)?.code === 'ENOTDIR';
}
