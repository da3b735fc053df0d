// A file tree as comparable data: path → type, mode, owner, content digest, link target. Used to
// compare what umoci unpacks from a tsbuild image with what it unpacks from buildah's.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface TreeEntry {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: string;
  uid: number;
  gid: number;
  sha256?: string;
  link?: string;
  /** inode, to compare hardlink groups */
  ino?: number;
  nlink?: number;
}

export function snapshotTree(root: string): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const walk = (rel: string) => {
    const abs = rel ? join(root, rel) : root;
    const st = lstatSync(abs);
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    const base = { mode, uid: st.uid, gid: st.gid };
    if (st.isSymbolicLink()) out.set(rel || '.', { type: 'symlink', ...base, link: readlinkSync(abs) });
    else if (st.isDirectory()) {
      out.set(rel || '.', { type: 'dir', ...base });
      for (const name of readdirSync(abs).sort()) walk(rel ? `${rel}/${name}` : name);
    } else if (st.isFile()) {
      out.set(rel || '.', { type: 'file', ...base, sha256: createHash('sha256').update(readFileSync(abs)).digest('hex'), ino: st.ino, nlink: st.nlink });
    } else out.set(rel || '.', { type: 'other', ...base });
  };
  walk('');
  return out;
}

/** Human-readable differences between two trees (empty when equal), ignoring inode numbers. */
export function diffTrees(a: Map<string, TreeEntry>, b: Map<string, TreeEntry>): string[] {
  const diffs: string[] = [];
  const strip = (e: TreeEntry) => JSON.stringify({ ...e, ino: undefined });
  for (const [p, e] of a) {
    const f = b.get(p);
    if (!f) diffs.push(`only in first: ${p}`);
    else if (strip(e) !== strip(f)) diffs.push(`${p}: ${strip(e)} != ${strip(f)}`);
  }
  for (const p of b.keys()) if (!a.has(p)) diffs.push(`only in second: ${p}`);
  return diffs;
}
