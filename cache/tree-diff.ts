// Finding what a step changed in a plain directory (chroot isolation has no overlay upper dir): a
// fingerprint of every path (inode + ctime + mode + size: any write, chmod, chown or link changes the
// ctime; the size guards against a write landing in the same coarse clock tick) taken before the
// step, compared with the tree after it. Changed and new paths become layer entries (with their
// parent directories), vanished ones `.wh.` whiteouts.
// Synchronous walks, as in layer-scan.ts: a promise round trip per lstat cost ten times the call.
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { WHITEOUT_PREFIX, compareEntryPaths, type LayerEntry } from './layer-entry.js';
import { scanDir, type LeftOut } from './layer-scan.js';
import { refuseUndecodableInLayer } from '../oci/file-names.js';

export type Fingerprint = Map<string, string>;

export function fingerprint(root: string): Fingerprint {
  const out: Fingerprint = new Map();
  const walk = (rel: string): void => {
    const dir = rel ? join(root, rel) : root;
    const names = readdirSync(dir);
    refuseUndecodableInLayer(dir, rel, names);
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, path), { bigint: true });
      out.set(path, `${st.ino}:${st.ctimeNs}:${st.mode}:${st.size}`);
      if (st.isDirectory()) walk(path);
    }
  };
  walk('');
  return out;
}

const parentOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');

export interface DiffOptions {
  ignore?: Set<string>;
  /** Filled with what the tree holds but the layer cannot (sockets, overlay xattrs). */
  leftOut?: LeftOut;
}

export async function diffTree(root: string, before: Fingerprint, opts: DiffOptions = {}): Promise<LayerEntry[]> {
  const after = fingerprint(root);
  const keep = new Set<string>();
  const addWithParents = (p: string) => {
    for (let q = p; q !== '' && !keep.has(q); q = parentOf(q)) keep.add(q);
  };
  for (const [p, fp] of after) if (before.get(p) !== fp && !opts.ignore?.has(p)) addWithParents(p);
  const whiteouts: string[] = [];
  for (const p of before.keys()) {
    if (after.has(p) || opts.ignore?.has(p)) continue;
    const parent = parentOf(p);
    if (parent !== '' && !after.has(parent)) continue; // inside a removed directory: its whiteout covers it
    whiteouts.push(p);
    if (parent !== '') addWithParents(parent);
  }
  // Only the changed paths are read again (a hardlink to an unchanged file outside them is then a
  // copy of its data, which needs no lower layer to resolve it).
  const entries = await scanDir(root, { ...(opts.leftOut ? { leftOut: opts.leftOut } : {}), only: keep });
  for (const p of whiteouts) {
    const parent = parentOf(p);
    const name = p.slice(parent === '' ? 0 : parent.length + 1);
    entries.push({ path: parent === '' ? WHITEOUT_PREFIX + name : `${parent}/${WHITEOUT_PREFIX}${name}`, type: 'file', mode: 0, uid: 0, gid: 0, mtime: 0, size: 0 });
  }
  return entries.sort((a, b) => compareEntryPaths(a.path, b.path));
}
