// Pure, slash-separated path helpers with Go's filepath semantics, because Docker's ignore files,
// COPY sources and archive entry names are all defined in terms of Go's filepath.Clean.
import { compareUtf8 } from '../../cache/layer-entry.js';

/** Port of Go's filepath.Clean for '/'-separated paths: '' → '.', no trailing slash, '..' kept only
 * when a relative path climbs above its start. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(seg);
  }
  const joined = out.join('/');
  return rooted ? '/' + joined : joined || '.';
}

/** Clean and make root-relative ('' for the root itself); '..' at the root is clamped, like a
 * chroot would. Use for paths that are *meant* to live under a root (rootfs paths). */
export function toRootRel(p: string): string {
  const c = cleanPath('/' + p);
  return c === '/' ? '' : c.slice(1);
}

/** Join root-relative segments ('' is the root). */
export function joinRel(a: string, b: string): string {
  if (a === '') return b;
  if (b === '') return a;
  return `${a}/${b}`;
}

export function dirnameRel(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

export function basenameRel(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

/** All proper ancestors of a root-relative path, outermost first ('a/b/c' → ['a', 'a/b']). */
export function ancestorsRel(p: string): string[] {
  const parts = p.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

/** Byte-order comparison (not locale): layer entries must sort identically everywhere. */
export const compareBytes: (a: string, b: string) => number = compareUtf8;
