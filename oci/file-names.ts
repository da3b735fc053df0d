// Node reads directory entries as UTF-8 strings: a name whose bytes are not UTF-8 comes back with
// U+FFFD in place of the bad bytes, and that string names no file. tsbuild does not carry such names
// (buildah and BuildKit copy them byte for byte), so the places that list a tree find them here and
// refuse them by name, instead of losing the file or failing on an lstat of a name that is not there.
import { readdirSync } from 'node:fs';
import { UserError } from './errors.js';

const NONE: ReadonlyMap<string, string> = new Map();

/**
 * The entries of `dir` whose names are not UTF-8: each as readdir gave it (`names`, with U+FFFD),
 * mapped to the name shown with `\xNN` escapes.
 */
export function undecodableNames(dir: string, names: readonly string[]): ReadonlyMap<string, string> {
  if (!names.some((n) => n.includes('\uFFFD'))) return NONE;
  const out = new Map<string, string>();
  for (const raw of readdirSync(dir, { encoding: 'buffer' })) {
    const decoded = raw.toString('utf8');
    if (!Buffer.from(decoded, 'utf8').equals(raw)) out.set(decoded, escapeName(raw));
  }
  return out;
}

/** A step's tree (`dir`, at `/rel` in the image) holds a name that is not UTF-8: the layer cannot have it. */
export function refuseUndecodableInLayer(dir: string, rel: string, names: readonly string[]): void {
  const bad = undecodableNames(dir, names);
  if (bad.size === 0) return;
  throw new UserError(`a file name that is not UTF-8: "/${rel ? rel + '/' : ''}${bad.values().next().value}"`, { hint: 'tsbuild cannot store such names in a layer yet' });
}

/** Printable ASCII as is, every other byte as `\xNN`. */
function escapeName(raw: Buffer): string {
  let s = '';
  for (const b of raw) s += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return s;
}
