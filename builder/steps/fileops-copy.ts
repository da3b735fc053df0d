// The copy engine shared by COPY and ADD, following fsutil's copy (what BuildKit runs): a directory
// source copies its contents; a file goes into the destination when that is a directory, else
// becomes it; created directories are 0755; copied entries keep their source metadata.

import path from 'node:path';
import { UserError, type SourceLocation } from '../../oci/errors.js';
import { BadPatternError, goMatch, hasWildcard } from '../context/glob.js';
import { IgnoreMatcher } from '../context/ignore.js';
import { basenameRel, joinRel, toRootRel } from '../context/paths.js';
import { contextSourcePath, resolveSourcePath, treeReadLink, type ResolvedSource } from '../context/resolve-source.js';
import { resolveScoped } from '../context/scoped.js';
import { refuseUndecodable, type CopySource, type SourceChild, type SourceStat } from './copy-source.js';
import { type Owner } from './copy-owner.js';
import { LayerPlan, type PlannedEntry } from './fileops-plan.js';

export interface CopyOptions {
  /** The instruction, for messages; 'RUN --mount' when a RUN step binds context files. */
  verb: 'COPY' | 'ADD' | 'RUN --mount';
  location: SourceLocation;
  /** --chown owner, applied to everything copied and created. */
  owner?: Owner;
  /** --chmod bits, applied to copied files and directories. */
  mode?: number;
  /** --exclude patterns, matched against paths relative to each copied source. */
  exclude?: IgnoreMatcher;
}

export interface Destination {
  /** Root-relative path with symlinks resolved (scoped to the rootfs). */
  rel: string;
  /** Named with a trailing '/' (or '.'), so always a directory. */
  dirLike: boolean;
}

/** Resolve the destination against WORKDIR; a directory-like one is created (fsutil MkdirAll). */
export async function prepareDestination(plan: LayerPlan, dest: string, workdir: string): Promise<Destination> {
  const dirLike = dest === '' || dest === '.' || dest.endsWith('/') || dest.endsWith('/.');
  const abs = path.posix.resolve('/', workdir || '/', dest);
  const rel = await plan.resolve(abs, true);
  if (dirLike) {
    await plan.ensureParents(rel);
    await plan.ensureDir(rel);
  }
  return { rel, dirLike };
}

/** Expand one source as named on the instruction into the paths it selects (wildcards included). */
export async function expandSource(src: CopySource, raw: string, opts: CopyOptions): Promise<ResolvedSource[]> {
  try {
    return await expandSourceUnlocated(src, raw, opts);
  } catch (e) {
    // Scoped resolution (a symlink loop such as etc -> /etc) cannot know the instruction: add its
    // position (found by the hostile-context tests; the cache key hashes sources through here too).
    if (e instanceof UserError && !e.location) fail(opts, `${opts.verb} failed: ${e.message}`);
    throw e;
  }
}

async function expandSourceUnlocated(src: CopySource, raw: string, opts: CopyOptions): Promise<ResolvedSource[]> {
  const rel = src.kind === 'context' ? contextSourcePath(raw, opts.location, opts.verb) : toRootRel(raw);
  const notFound = (): never => {
    const where = src.kind === 'context' ? 'build context or excluded by .dockerignore' : 'source stage';
    return fail(opts, `${opts.verb} failed: file not found in ${where}: stat ${raw}: file does not exist`);
  };
  const segs = rel === '' ? [] : rel.split('/');
  const wild = segs.findIndex(hasWildcard);
  if (wild < 0) {
    const r = await resolveSourcePath(src, rel);
    return r ? [r] : notFound();
  }
  const prefix = segs.slice(0, wild).join('/');
  const globPart = segs.slice(wild).join('/');
  const depth = segs.length - wild;
  const base = (await resolveScoped(prefix, treeReadLink(src), true)).path;
  const matches: string[] = [];
  const globSegs = globPart.split('/');
  const walk = async (dirRel: string, level: number): Promise<void> => {
    const st = await src.lstat(joinRel(base, dirRel));
    if (st?.type !== 'dir') return;
    const names = await src.readdir(joinRel(base, dirRel));
    // An undecodable name the pattern takes (or would look into) stops the build; others are not copied anyway.
    // (A bad pattern is reported by the loop below.)
    refuseUndecodable(src, joinRel(base, dirRel), (b) => {
      try {
        return goMatch(globSegs[level]!, b.name) && !opts.exclude?.ignores(joinRel(dirRel, b.name));
      } catch {
        return false;
      }
    });
    for (const name of names) {
      const r = joinRel(dirRel, name);
      let hit: boolean;
      try {
        hit = goMatch(globPart, r);
      } catch (e) {
        if (e instanceof BadPatternError) fail(opts, `${opts.verb} failed: invalid wildcard pattern ${JSON.stringify(raw)}`);
        throw e;
      }
      if (hit) {
        if (!opts.exclude?.ignores(r)) matches.push(r);
      } else if (level + 1 < depth) await walk(r, level + 1);
    }
  };
  await walk('', 0);
  if (matches.length === 0) fail(opts, `${opts.verb} failed: no source files were specified (no items matching ${JSON.stringify(raw)})`);
  const out: ResolvedSource[] = [];
  for (const m of matches) {
    const r = await resolveSourcePath(src, joinRel(base, m));
    if (r) out.push({ ...r, named: joinRel(prefix, m) });
  }
  return out.length > 0 ? out : notFound();
}

export function fail(opts: Pick<CopyOptions, 'location'>, message: string): never {
  throw new UserError(message, { location: opts.location });
}

/** Build the entry for a copied source node at `target`. */
function entryFor(st: SourceStat, target: string, opts: CopyOptions): PlannedEntry {
  const type = st.type === 'hardlink' ? 'file' : (st.type as PlannedEntry['type']);
  const applyMode = opts.mode !== undefined && (type === 'file' || type === 'dir');
  const e: PlannedEntry = {
    path: target,
    type,
    mode: applyMode ? opts.mode! : st.mode & 0o7777,
    uid: opts.owner?.uid ?? st.uid,
    gid: opts.owner?.gid ?? st.gid,
    mtime: st.mtime,
  };
  if (type === 'file') e.size = st.size;
  if (type === 'symlink') e.linkname = st.linkname;
  if (type === 'char' || type === 'block') {
    e.devmajor = st.devmajor;
    e.devminor = st.devminor;
  }
  if (st.inode) e.inode = st.inode;
  return e;
}

/** Copy one resolved source into the destination. */
export async function copyResolved(plan: LayerPlan, src: CopySource, item: ResolvedSource, dest: Destination, opts: CopyOptions): Promise<void> {
  const st = await src.lstat(item.path);
  if (!st) plan.fail(`${opts.verb} failed: file not found: ${item.named}`);
  if (st.type === 'dir') {
    await copyDirInto(plan, src, item.path, st, dest.rel, opts);
    return;
  }
  const existing = await plan.stat(dest.rel);
  // A destination ending in '/' is a directory even when the rootfs has no entry for it yet (the
  // root of a scratch image has none).
  const intoDir = dest.dirLike || dest.rel === '' || existing?.type === 'dir';
  const target = intoDir ? joinRel(dest.rel, basenameRel(item.named) || 'root') : dest.rel;
  if (target === '') plan.fail(`${opts.verb} failed: cannot replace the root directory with a file`);
  await copyNode(plan, src, item.path, st, target, opts);
}

/** A directory source: its contents go into `target`, which keeps its metadata if it exists. */
async function copyDirInto(plan: LayerPlan, src: CopySource, srcRel: string, st: SourceStat, target: string, opts: CopyOptions): Promise<void> {
  const existing = await plan.stat(target);
  if (existing && existing.type !== 'dir') plan.fail(`cannot copy to non-directory: /${target}`);
  await plan.ensureParents(target);
  if (existing) await plan.ensureDir(target);
  else if (target !== '') plan.put(entryFor(st, target, opts));
  await copyChildren(plan, src, srcRel, target, '', opts);
}

async function copyChildren(plan: LayerPlan, src: CopySource, srcRel: string, destRel: string, compRel: string, opts: CopyOptions): Promise<void> {
  const children = src.children?.(srcRel) ?? (await listChildren(src, srcRel));
  refuseUndecodable(src, srcRel, (b) => !opts.exclude?.ignores(joinRel(compRel, b.name), false));
  for (const { name, rel: s, st } of children) {
    const comp = joinRel(compRel, name);
    if (opts.exclude?.ignores(comp, st.type === 'dir') && !(st.type === 'dir' && opts.exclude.mayReinclude(comp))) continue;
    const d = joinRel(destRel, name);
    if (st.type === 'dir') {
      const existing = await plan.stat(d);
      if (existing && existing.type !== 'dir') plan.fail(`cannot copy to non-directory: /${d}`);
      plan.put(entryFor(st, d, opts)); // existing subdirectories take the source's metadata (fsutil)
      await copyChildren(plan, src, s, d, comp, opts);
    } else {
      await copyNode(plan, src, s, st, d, opts);
    }
  }
}

/** readdir + lstat, for sources without children(). */
async function listChildren(src: CopySource, rel: string): Promise<SourceChild[]> {
  const out: SourceChild[] = [];
  for (const name of await src.readdir(rel)) {
    const childRel = joinRel(rel, name);
    const st = await src.lstat(childRel);
    if (st) out.push({ name, rel: childRel, st });
  }
  return out;
}

/** A non-directory node (or a directory kept as-is is never passed here). */
async function copyNode(plan: LayerPlan, src: CopySource, srcRel: string, st: SourceStat, target: string, opts: CopyOptions): Promise<void> {
  if (st.type === 'socket') return; // sockets are not transferable (fsutil skips them too)
  if (st.type === 'dir') plan.fail(`${opts.verb} failed: unexpected directory ${srcRel}`);
  await plan.ensureParents(target);
  const existing = await plan.stat(target);
  if (existing?.type === 'dir') plan.fail(`cannot replace to directory /${target} with file`);
  const e = entryFor(st, target, opts);
  if (e.type === 'file') e.content = await src.content(srcRel);
  plan.put(e);
}

/** Build an IgnoreMatcher for --exclude, turning bad patterns into a user error. */
export function excludeMatcher(patterns: string[] | undefined, opts: Pick<CopyOptions, 'verb' | 'location'>): IgnoreMatcher | undefined {
  if (!patterns || patterns.length === 0) return undefined;
  try {
    return new IgnoreMatcher(patterns);
  } catch (e) {
    if (e instanceof BadPatternError) fail(opts, `${opts.verb} failed: invalid --exclude pattern: ${e.message}`);
    throw e;
  }
}
