// Resolving a path inside a root with every symlink interpreted relative to that root (like
// continuity's fs.RootPath / securejoin): absolute link targets restart at the root and '..' stops
// at it, so resolution can never leave the root. Works over any tree through `readLink`.

import { UserError } from '../../oci/errors.js';
import { joinRel } from './paths.js';

/** Returns the symlink target when `rel` is a symlink, undefined otherwise (incl. missing). */
export type ReadLink = (rel: string) => Promise<string | undefined>;

const MAX_LINKS = 255;

export interface ScopedResult {
  /** Root-relative resolved path ('' = root). */
  path: string;
}

export async function resolveScoped(rel: string, readLink: ReadLink, followLast = true): Promise<ScopedResult> {
  const todo = rel.split('/').filter((s) => s !== '' && s !== '.');
  const done: string[] = [];
  let links = 0;
  while (todo.length > 0) {
    const comp = todo.shift()!;
    if (comp === '' || comp === '.') continue;
    if (comp === '..') {
      done.pop(); // at the root, '..' stays there
      continue;
    }
    const cur = joinRel(done.join('/'), comp);
    if (todo.length === 0 && !followLast) {
      done.push(comp);
      break;
    }
    const target = await readLink(cur);
    if (target === undefined) {
      done.push(comp);
      continue;
    }
    if (++links > MAX_LINKS) throw new UserError(`too many levels of symbolic links: ${rel}`);
    if (target.startsWith('/')) done.length = 0;
    todo.unshift(...target.split('/').filter((s) => s !== ''));
  }
  return { path: done.join('/') };
}
