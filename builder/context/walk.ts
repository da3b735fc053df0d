// Walking the build context: never follows symlinks, skips what the ignore matcher excludes, and
// still descends into excluded directories that may hold re-included ('!') files.

import type { Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { IgnoreMatcher } from './ignore.js';
import { compareBytes, joinRel } from './paths.js';

export interface ContextEntry {
  /** Context-relative, '/'-separated, no leading './' or '/'. */
  path: string;
  stat: Stats;
  /** Symlink target as stored (never resolved). */
  linkTarget?: string;
}

export interface WalkOptions {
  /** Context-relative directory to walk below (default: the whole context). It must be a real
   * directory path (already resolved); the start itself is not returned. */
  start?: string;
}

/** All non-ignored entries below `start`, in pre-order with names sorted bytewise. An excluded
 * directory appears only when something below it was re-included, as in the context BuildKit sends. */
export async function walkContext(contextDir: string, matcher: IgnoreMatcher, opts: WalkOptions = {}): Promise<ContextEntry[]> {
  const out: ContextEntry[] = [];
  await walkDir(contextDir, matcher, opts.start ?? '', out);
  return out;
}

async function walkDir(root: string, matcher: IgnoreMatcher, rel: string, out: ContextEntry[]): Promise<void> {
  const names = (await readdir(path.join(root, rel))).sort(compareBytes);
  for (const name of names) {
    const childRel = joinRel(rel, name);
    const abs = path.join(root, childRel);
    const stat = await lstat(abs);
    const isDir = stat.isDirectory();
    const entry: ContextEntry = { path: childRel, stat };
    if (stat.isSymbolicLink()) entry.linkTarget = await readlink(abs);
    if (matcher.ignores(childRel, isDir)) {
      if (!isDir || !matcher.mayReinclude(childRel)) continue;
      const below: ContextEntry[] = [];
      await walkDir(root, matcher, childRel, below);
      if (below.length === 0) continue;
      out.push(entry, ...below);
      continue;
    }
    out.push(entry);
    if (isDir) await walkDir(root, matcher, childRel, out);
  }
}
