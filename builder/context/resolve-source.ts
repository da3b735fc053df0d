// Where a COPY/ADD source path really points. BuildKit (fsutil copy with FollowLinks) resolves the
// whole source path with symlinks scoped to the source root, the final component included: an
// absolute target starts again at the root and `..` stops there, as in a chroot. The build context
// is such a root too: a source symlink to `/target` copies `<context>/target`, one to `/etc/passwd`
// copies `<context>/etc/passwd` or is not found, and nothing outside the context is ever read.
// buildah 1.28 does the same. (Symlinks *inside* a copied directory are copied as symlinks.)

import { UserError, type SourceLocation } from '../../oci/errors.js';
import { basenameRel, cleanPath, dirnameRel, joinRel } from './paths.js';
import { resolveScoped, type ReadLink } from './scoped.js';

export interface SourceTree {
  lstat(rel: string): Promise<{ type: string; linkname?: string } | undefined>;
}

export interface ResolvedSource {
  /** The path as named on the instruction, root-relative (its basename names the copy). */
  named: string;
  /** The root-relative path whose entry is copied: no symlink anywhere in it. */
  path: string;
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
 * Resolve `rel` in `tree`, every symlink (the last one too) scoped to the tree's root. Undefined
 * when nothing is there, a dangling final link included (BuildKit reports it as not found).
 */
export async function resolveSourcePath(tree: SourceTree, rel: string): Promise<ResolvedSource | undefined> {
  if (rel === '') return { named: '', path: '' };
  const readLink = treeReadLink(tree);
  const parent = (await resolveScoped(dirnameRel(rel), readLink, true)).path;
  const full = joinRel(parent, basenameRel(rel));
  const st = await tree.lstat(full);
  if (!st) return undefined;
  if (st.type !== 'symlink') return { named: rel, path: full };
  const followed = (await resolveScoped(full, readLink, true)).path;
  if (!(await tree.lstat(followed))) return undefined;
  return { named: rel, path: followed };
}
