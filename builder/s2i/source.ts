// Getting the application source into <work>/upload/src (§B): a git clone (URL, `#ref`/--ref, local
// repository asked for a ref, bare repository) or a copy of a local directory's working tree as it is
// — uncommitted and untracked files included, which is what users expect (§O-2). --context-dir,
// --exclude and symlink handling apply the same way to both.
import { promises as fsp } from 'node:fs';
import { join, resolve, relative, isAbsolute, sep } from 'node:path';
import { UserError } from '../../oci/errors.js';
import { cloneRepo, commitInfo, hasCommits, isGitRepo, originUrl, type CommitInfo } from './git.js';

export const DEFAULT_EXCLUDE = '(^|/)\\.git(/|$)';

export interface SourceSpec {
  kind: 'git' | 'dir';
  /** clone URL or local path, without the #fragment */
  location: string;
  ref?: string;
}

export interface SourceInfo {
  kind: 'git' | 'copy';
  /** as S2I reports it: the origin URL of a clone, the path as given for a copy */
  location: string;
  contextDir?: string;
  commit?: CommitInfo;
}

const URL_SCHEME = /^(https?|git|ssh|file|git\+ssh):\/\//i;
const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:/;

/** Classify SOURCE (§A-2); `--ref` wins over a URL `#fragment` (S2I drops the fragment, §N-1). */
export async function parseSource(source: string, ref: string | undefined, copy: boolean): Promise<SourceSpec> {
  let location = source;
  let fragment: string | undefined;
  const hash = source.indexOf('#');
  if ((URL_SCHEME.test(source) || SCP_LIKE.test(source)) && hash >= 0) {
    location = source.slice(0, hash);
    fragment = source.slice(hash + 1) || undefined;
  }
  const wanted = ref || fragment;
  if (URL_SCHEME.test(location) || SCP_LIKE.test(location)) {
    if (/^file:\/\//i.test(location) && !/^file:\/\/\//i.test(location)) throw new UserError(`invalid source "${source}": a file:// URL must have an empty host (file:///abs/path)`, { exitCode: 2 });
    return { kind: 'git', location, ...(wanted ? { ref: wanted } : {}) };
  }
  let st;
  try {
    st = await fsp.stat(location);
  } catch {
    throw new UserError(`source ${source} does not exist (expected a directory, or a git URL)`);
  }
  if (!st.isDirectory()) throw new UserError(`source ${source} is not a directory`);
  // A working tree is copied as it is; only an explicit ref (or a bare repository, which has no
  // working tree) makes us clone it. --copy always copies.
  if (!copy && (await isGitRepo(location))) {
    const bare = !(await fsp.stat(join(location, '.git')).then(() => true, () => false));
    if (wanted || bare) {
      if (!(await hasCommits(location))) throw new UserError(`local git repository ${source} has no tracking information or commits`, { exitCode: 16 });
      return { kind: 'git', location: resolve(location), ...(wanted ? { ref: wanted } : {}) };
    }
  }
  return { kind: 'dir', location, ...(wanted ? { ref: wanted } : {}) };
}

export interface AcquireOptions {
  spec: SourceSpec;
  /** the SOURCE argument as given (reported as the location of a copy) */
  given: string;
  contextDir?: string;
  /** regex source; '' excludes nothing */
  exclude: string;
  keepSymlinks: boolean;
  submodules: boolean;
  /** scratch dir for a clone */
  scratch: string;
  /** destination: <work>/upload/src (must not exist yet) */
  dest: string;
  /** absolute paths never copied (our own work or output directory inside the source) */
  skip: string[];
  warn: (m: string) => void;
  signal?: AbortSignal;
}

function checkContextDir(contextDir: string | undefined): string | undefined {
  if (contextDir === undefined || contextDir === '' || contextDir === '.' || contextDir === '/') return undefined;
  const norm = contextDir.replace(/^\/+/, '').replace(/\/+$/, '');
  if (norm.split('/').includes('..')) throw new UserError(`--context-dir ${contextDir} must stay inside the source`, { exitCode: 2 });
  return norm;
}

export async function acquireSource(o: AcquireOptions): Promise<SourceInfo> {
  const contextDir = checkContextDir(o.contextDir);
  let exclude: RegExp | undefined;
  try {
    exclude = o.exclude === '' ? undefined : new RegExp(o.exclude);
  } catch (e) {
    throw new UserError(`invalid --exclude "${o.exclude}": ${(e as Error).message}`, { exitCode: 2 });
  }
  let root: string;
  let info: SourceInfo;
  if (o.spec.kind === 'git') {
    const clone = join(o.scratch, 'clone');
    await cloneRepo(o.spec.location, clone, { ...(o.spec.ref ? { ref: o.spec.ref } : {}), submodules: o.submodules, ...(o.signal ? { signal: o.signal } : {}) });
    root = clone;
    info = { kind: 'git', location: (await originUrl(clone)) ?? o.spec.location };
    const c = await commitInfo(clone);
    if (c) info.commit = c;
  } else {
    if (o.spec.ref) o.warn(`--ref ${o.spec.ref} ignored: ${o.given} is copied as a plain directory`);
    root = o.spec.location;
    info = { kind: 'copy', location: o.given };
    // A working tree that is also a repository still gets commit labels (of its HEAD).
    if (await isGitRepo(root)) {
      const c = await commitInfo(root);
      if (c) info.commit = c;
    }
  }
  if (contextDir) info.contextDir = contextDir;
  const from = contextDir ? join(root, contextDir) : root;
  const st = await fsp.stat(from).catch(() => undefined);
  if (!st?.isDirectory()) throw new UserError(`context directory ${contextDir} does not exist in the source`);
  // A clone keeps its symlinks (it is git's checkout); a directory copy follows them unless asked not to.
  await copyTree(from, o.dest, { exclude, keepSymlinks: o.spec.kind === 'git' || o.keepSymlinks, skip: o.skip.map((s) => resolve(s)), warn: o.warn });
  if (o.spec.kind === 'git') await fsp.rm(join(o.scratch, 'clone'), { recursive: true, force: true });
  return info;
}

interface CopyOptions {
  exclude: RegExp | undefined;
  keepSymlinks: boolean;
  skip: string[];
  warn: (m: string) => void;
}

/** Copy a tree preserving modes and mtimes; `--exclude` is matched against paths relative to the root. */
export async function copyTree(src: string, dest: string, o: CopyOptions): Promise<void> {
  const srcRoot = resolve(src);
  const within = (p: string, dir: string) => p === dir || p.startsWith(dir + sep);
  // Only directories *inside* the source need skipping (our output there); one holding it is irrelevant.
  o = { ...o, skip: o.skip.filter((s) => !within(srcRoot, s)) };
  const walk = async (abs: string, rel: string, out: string, chain: Set<string>): Promise<void> => {
    const st = await fsp.stat(abs);
    await fsp.mkdir(out, { recursive: true });
    for (const name of (await fsp.readdir(abs)).sort()) {
      const childAbs = join(abs, name);
      const childRel = rel ? `${rel}/${name}` : name;
      const childOut = join(out, name);
      if (o.exclude?.test(childRel)) continue;
      if (o.skip.some((s) => within(resolve(childAbs), s))) continue;
      let lst = await fsp.lstat(childAbs);
      if (lst.isSymbolicLink()) {
        const target = await fsp.stat(childAbs).catch(() => undefined);
        if (o.keepSymlinks || !target) {
          // Dangling links are copied as links, as S2I does.
          await fsp.symlink(await fsp.readlink(childAbs), childOut);
          continue;
        }
        lst = target;
      }
      if (lst.isDirectory()) {
        const real = await fsp.realpath(childAbs);
        if (chain.has(real)) {
          o.warn(`skipping ${childRel}: symlink loop`);
          continue;
        }
        await walk(childAbs, childRel, childOut, new Set([...chain, real]));
      } else if (lst.isFile()) {
        await fsp.copyFile(childAbs, childOut);
        await fsp.chmod(childOut, lst.mode & 0o7777);
        await fsp.utimes(childOut, lst.atime, lst.mtime);
      } else {
        // Sockets, fifos, devices cannot be part of an application source; S2I aborts on them (#978).
        o.warn(`skipping ${childRel}: not a regular file, directory or symlink`);
      }
    }
    await fsp.chmod(out, st.mode & 0o7777);
    await fsp.utimes(out, st.atime, st.mtime);
  };
  const rootReal = await fsp.realpath(srcRoot);
  await walk(srcRoot, '', dest, new Set([rootReal]));
}

/** Is `p` inside `dir` (both resolved)? */
export function isInside(p: string, dir: string): boolean {
  const r = relative(resolve(dir), resolve(p));
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
}
