// The layer entry model shared by the layer writer, reader, scanner and applier.
import { UserError } from '../oci/errors.js';

export type LayerEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface LayerEntry {
  /** rootfs-relative, no leading '/', no trailing '/'. Whiteouts are ordinary 'file' entries named 'dir/.wh.name'. */
  path: string;
  type: LayerEntryType;
  /** 0o7777 bits including setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** seconds (may be fractional; the tar keeps whole seconds). */
  mtime: number;
  size?: number;
  /** symlink target (verbatim) or hardlink target (rootfs-relative path). */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer>;
  content?: { path: string } | { data: Buffer };
}

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';

/**
 * Normalise a tar member name to rootfs-relative form: strip leading '/' and './', drop '.' and empty
 * components. A '..' component is refused outright: no legitimate layer needs one, and silently
 * clamping it would hide a hostile archive.
 */
export function normalizeEntryPath(name: string): string {
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') throw new UserError(`unsafe path in layer: ${JSON.stringify(name)} contains '..'`);
    parts.push(c);
  }
  return parts.join('/');
}

/**
 * Order of entries in a layer: by path bytes, except that an opaque marker sorts directly after its
 * directory, before any sibling, so appliers see "hide the lower content" before the new children.
 */
export function compareEntryPaths(a: string, b: string): number {
  return Buffer.compare(sortKey(a), sortKey(b));
}

function sortKey(p: string): Buffer {
  if (p === OPAQUE_WHITEOUT || p.endsWith('/' + OPAQUE_WHITEOUT)) {
    return Buffer.from(p.slice(0, p.length - OPAQUE_WHITEOUT.length) + '\0');
  }
  return Buffer.from(p);
}
