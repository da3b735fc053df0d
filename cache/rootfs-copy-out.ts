// Copying a tree out of an image's merged root filesystem onto the host: directories, files and
// symlinks with their modes (owners are whoever copies; devices, fifos and sockets are left out).
// Rootless with subordinate ids, files private to another container user (a 0700 directory of uid
// 1001) are read through the view's user-namespace fallback (cache/rootfs-host-fs.ts).
import { constants as fsConstants, promises as fsp } from 'node:fs';
import { join, posix } from 'node:path';
import type { RootfsView, ViewStat } from './rootfs-view.js';

export interface CopyOutResult {
  /** false: `from` is not in the image (nothing was written) */
  found: boolean;
  /** entries written */
  entries: number;
  /** paths left out (devices, fifos, sockets), with their type */
  skipped: string[];
}

/** The mode a copied entry gets, from the image's (default: the image's own). */
export type ModeOf = (isDir: boolean, mode: number) => number;

/** Copy `from` (a final symlink is copied as a link) to the host path `to`, which must not exist yet. */
export async function copyOutOfView(view: RootfsView, from: string, to: string, modeOf: ModeOf = (_, m) => m): Promise<CopyOutResult> {
  const result: CopyOutResult = { found: false, entries: 0, skipped: [] };
  const st = await view.lstat(from);
  if (!st) return result;
  result.found = true;
  await copyNode(view, from, st, to, modeOf, result);
  return result;
}

async function copyNode(view: RootfsView, from: string, st: ViewStat, to: string, modeOf: ModeOf, r: CopyOutResult): Promise<void> {
  switch (st.type) {
    case 'dir':
      // Writable until its children are in; its own mode last (it may be read-only).
      await fsp.mkdir(to, { mode: 0o700 });
      for (const name of (await view.readdir(from)) ?? []) {
        const child = posix.join(from, name);
        const cst = await view.lstat(child);
        if (cst) await copyNode(view, child, cst, join(to, name), modeOf, r);
      }
      await fsp.chmod(to, modeOf(true, st.mode));
      break;
    case 'file': {
      // Streamed from the snapshot where this process can read it, else (private to another
      // container user, rootless) read through the view's user-namespace fallback.
      const src = await view.readablePath(from);
      if (src !== undefined) await fsp.copyFile(src, to, fsConstants.COPYFILE_EXCL);
      else await fsp.writeFile(to, (await view.readFile(from)) ?? Buffer.alloc(0), { flag: 'wx', mode: 0o600 });
      await fsp.chmod(to, modeOf(false, st.mode));
      break;
    }
    case 'symlink':
      await fsp.symlink(st.linkname ?? '', to);
      break;
    default:
      r.skipped.push(`${from} (${st.type})`);
      return;
  }
  r.entries++;
}
