// A snapshot directory as comparable data: everything an overlay mount over it, or a reader of it,
// can see (type, mode, owner, content, mtime seconds, xattrs incl. overlay's markers, device
// numbers, hardlink groups, whiteouts). Used to check that a RUN step's kept upper dir equals the
// snapshot unpacked from its layer.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { lgetxattr, llistxattr } from '../../native/index.js';

export function describeSnapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const inodes = new Map<number, string>();
  const walk = (rel: string) => {
    const abs = rel ? join(root, rel) : root;
    const st = lstatSync(abs);
    let d: Record<string, unknown>;
    if (st.isCharacterDevice() && st.rdev === 0) {
      d = { whiteout: true }; // overlay reads only the device number of a whiteout
    } else {
      const xattrs = llistxattr(abs)
        .filter((n) => n !== 'security.selinux')
        .sort()
        .map((n) => `${n}=${lgetxattr(abs, n)?.toString('hex')}`);
      d = { mode: st.mode.toString(8), uid: st.uid, gid: st.gid, xattrs };
      if (rel !== '') d['mtime'] = Math.floor(st.mtimeMs / 1000); // an unpacked root's mtime is when it was made
      if (st.isFile()) {
        d['sha256'] = createHash('sha256').update(readFileSync(abs)).digest('hex');
        if (st.nlink > 1) {
          // a hardlink group is named by its first path in walk order
          const group = inodes.get(st.ino) ?? rel;
          inodes.set(st.ino, group);
          d['linkGroup'] = group;
        }
      }
      if (st.isSymbolicLink()) d['target'] = readlinkSync(abs);
      if (st.isCharacterDevice() || st.isBlockDevice()) d['rdev'] = st.rdev;
    }
    out.set(rel || '/', JSON.stringify(d));
    if (st.isDirectory()) for (const n of readdirSync(abs).sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk('');
  return out;
}

/** Differences between two described snapshots (empty when equal). */
export function snapshotDiff(a: Map<string, string>, b: Map<string, string>, names = ['first', 'second']): string[] {
  const out: string[] = [];
  for (const [p, x] of a) if (b.get(p) !== x) out.push(`${p}: ${names[0]} ${x} / ${names[1]} ${b.get(p) ?? '(absent)'}`);
  for (const p of b.keys()) if (!a.has(p)) out.push(`${p}: only in ${names[1]}`);
  return out;
}
