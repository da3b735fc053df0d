// Finding what a step changed in a plain directory (chroot isolation has no overlay upper dir): a
// fingerprint of every path (inode + ctime: any write, chmod, chown or link changes the ctime)
// taken before the step, compared with the tree after it. Changed and new paths become layer
// entries (with their parent directories), vanished ones `.wh.` whiteouts.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { WHITEOUT_PREFIX, compareEntryPaths, type LayerEntry } from './layer-entry.js';
import { scanDir } from './layer-scan.js';

export type Fingerprint = Map<string, string>;

export async function fingerprint(root: string): Promise<Fingerprint> {
  const out: Fingerprint = new Map();
  const walk = async (rel: string): Promise<void> => {
    for (const name of await fsp.readdir(rel ? join(root, rel) : root)) {
      const path = rel ? `${rel}/${name}` : name;
      const st = await fsp.lstat(join(root, path), { bigint: true });
      out.set(path, `${st.ino}:${st.ctimeNs}:${st.mode}`);
      if (st.isDirectory()) await walk(path);
    }
  };
  await walk('');
  return out;
}

const parentOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');

export async function diffTree(root: string, before: Fingerprint, opts: { ignore?: Set<string> } = {}): Promise<LayerEntry[]> {
  const after = await fingerprint(root);
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
  const entries = (await scanDir(root)).filter((e) => keep.has(e.path));
  for (const p of whiteouts) {
    const parent = parentOf(p);
    const name = p.slice(parent === '' ? 0 : parent.length + 1);
    entries.push({ path: parent === '' ? WHITEOUT_PREFIX + name : `${parent}/${WHITEOUT_PREFIX}${name}`, type: 'file', mode: 0, uid: 0, gid: 0, mtime: 0, size: 0 });
  }
  return entries.sort((a, b) => compareEntryPaths(a.path, b.path));
}
