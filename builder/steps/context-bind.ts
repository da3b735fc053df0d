// What a RUN --mount of the build context (type=bind, or a cache seeded from it) shows the step: only
// what the ignore file lets through, as with BuildKit, which never sends ignored files to the builder.
// Binding the context directory itself would hand the step `.git`, `.env` and whatever else
// .dockerignore keeps out, unhashed by the cache key, for the step to read or write into its layer.
import { chmodSync, copyFileSync, linkSync, lstatSync, mkdirSync, promises as fsp, readdirSync, readlinkSync, realpathSync, statSync, symlinkSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { UserError, type SourceLocation } from '../../oci/errors.js';
import type { IgnoreMatcher } from '../context/ignore.js';
import type { RunScratch } from '../../cache/run-scratch.js';

/**
 * A host path for `source` inside the context: the context path itself when the ignore file hides
 * nothing below it and `copy` is not asked for (a read-write bind works on a copy); else, in the
 * step's scratch space, the source without its ignored entries: a filtered copy, or a tree of hard
 * links when `copy` is not asked for. Symlinks in `source` are resolved within the context and may
 * not leave it.
 */
export async function contextBindSource(contextDir: string, source: string, matcher: IgnoreMatcher, scratch: RunScratch, loc: SourceLocation, copy: boolean): Promise<string> {
  const base = realpathSync(contextDir);
  const notFound = () => new UserError(`mount source "${source}" not found in the build context`, { location: loc });
  let path: string;
  try {
    path = realpathSync(resolve(base, '.' + resolve('/', source)));
  } catch {
    throw notFound();
  }
  const rel = relative(base, path);
  if (rel.startsWith('..' + sep) || rel === '..') throw new UserError(`mount source "${source}" is outside the build context`, { location: loc });
  const relSlash = rel === '' ? '.' : rel.split(sep).join('/');
  const isDir = statSync(path).isDirectory();
  if (matcher.ignores(relSlash, isDir) && !(isDir && matcher.mayReinclude(relSlash))) throw notFound();
  if (!copy && (!isDir || !hidesAnythingBelow(path, relSlash, matcher))) return path;
  const dest = join(await scratch.sub('bind'), 'src');
  const keep = (from: string, dir: boolean) => {
    const r = relative(base, from).split(sep).join('/');
    // An ignored directory is still entered when a `!pattern` may bring back something below it.
    return !matcher.ignores(r) || (dir && matcher.mayReinclude(r));
  };
  if (copy || !isDir) {
    await fsp.cp(path, dest, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true, filter: (from) => from === path || keep(from, statSync(from, { throwIfNoEntry: false })?.isDirectory() === true) });
  } else {
    linkTree(path, dest, keep); // read-only: hard links are as good as copies and cost no data
  }
  return dest;
}

/**
 * A tree of the kept entries of `from` at `to`: directories made (with their modes), files hard-linked
 * (copied across file systems), symlinks recreated as they are.
 */
function linkTree(from: string, to: string, keep: (path: string, dir: boolean) => boolean): void {
  mkdirSync(to, { mode: 0o700 });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const src = join(from, e.name);
    const dst = join(to, e.name);
    if (!keep(src, e.isDirectory())) continue;
    if (e.isDirectory()) linkTree(src, dst, keep);
    else if (e.isSymbolicLink()) symlinkSync(readlinkSync(src), dst);
    else if (e.isFile()) {
      try {
        linkSync(src, dst);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV' && (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
        copyFileSync(src, dst);
        chmodSync(dst, lstatSync(src).mode & 0o7777);
      }
    }
    // sockets, fifos and devices: not part of a build context (BuildKit does not send them either)
  }
  chmodSync(to, statSync(from).mode & 0o7777);
}

/** Whether the ignore file excludes any entry below the directory `dir` (context-relative `rel`). */
function hidesAnythingBelow(dir: string, rel: string, matcher: IgnoreMatcher): boolean {
  if (matcher.patterns.length === 0) return false;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const childRel = rel === '.' ? e.name : `${rel}/${e.name}`;
    if (matcher.ignores(childRel)) return true;
    if (e.isDirectory() && hidesAnythingBelow(join(dir, e.name), childRel, matcher)) return true;
  }
  return false;
}
