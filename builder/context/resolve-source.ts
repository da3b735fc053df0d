// Where a COPY/ADD source path really points. BuildKit (fsutil copy with FollowLinks) resolves the
// whole source path with symlinks scoped to the source root, the final component included. For the
// build context we are stricter about the final link: if following it would leave the context
// (absolute or climbing target), the symlink itself is copied, so no host file is ever read.

import { UserError, type SourceLocation } from '../../oci/errors.js';
import { basenameRel, cleanPath, dirnameRel, joinRel } from './paths.js';
import { resolveScoped, type ReadLink } from './scoped.js';

export interface SourceTree {
  lstat(rel: string): Promise<{ type: string; linkname?: string } | undefined>;
}

export interface ResolvedSource {
  /** The path as named on the instruction, root-relative (its basename names the copy). */
  named: string;
  /** The root-relative path whose entry is copied. */
  path: string;
  /** The final component is a symlink that is copied as a link, not followed. */
  keepSymlink: boolean;
}

/** Context-relative form of a source named on COPY/ADD; '..' escaping the context is refused. */
export function contextSourcePath(source: string, location?: SourceLocation, verb = 'COPY'): string {
  const c = cleanPath(source);
  if (c === '..' || c.startsWith('../')) {
    throw new UserError(`${verb} failed: forbidden path outside the build context: ${source}`, { location });
  }
  if (c === '.' || c === '/') return '';
  return c.startsWith('/') ? c.slice(1) : c;
}

export function treeReadLink(tree: SourceTree): ReadLink {
  return async (rel) => {
    const st = await tree.lstat(rel);
    return st?.type === 'symlink' ? st.linkname : undefined;
  };
}

/**
 * Resolve `rel` in `tree`. `finalLinks`: 'scope' follows a final symlink with the target scoped to
 * the root (another stage's rootfs, where absolute links are normal); 'contain' follows it only
 * when it stays inside without clamping, else keeps the link. Undefined when nothing is there.
 */
export async function resolveSourcePath(tree: SourceTree, rel: string, finalLinks: 'scope' | 'contain'): Promise<ResolvedSource | undefined> {
  if (rel === '') return { named: '', path: '', keepSymlink: false };
  const readLink = treeReadLink(tree);
  const parent = (await resolveScoped(dirnameRel(rel), readLink, true)).path;
  const full = joinRel(parent, basenameRel(rel));
  const st = await tree.lstat(full);
  if (!st) return undefined;
  if (st.type !== 'symlink') return { named: rel, path: full, keepSymlink: false };
  const followed = await resolveScoped(full, readLink, true);
  if (finalLinks === 'contain' && followed.clamped) return { named: rel, path: full, keepSymlink: true };
  if (!(await tree.lstat(followed.path))) return undefined; // dangling: BuildKit reports not found
  return { named: rel, path: followed.path, keepSymlink: false };
}
