// Copying a tree out of an image's merged root filesystem onto the host: directories, files and
// symlinks with their modes (owners are whoever copies; devices, fifos and sockets are left out).
// Rootless with subordinate ids, snapshot files of other container users belong to ids only real in
// the user namespace and may be private to them (a 0700 directory of uid 1001): the copy then runs
// in the userns worker, whose root can read them, and what it writes belongs to this user.
import { promises as fsp } from 'node:fs';
import { join, posix } from 'node:path';
import { RootfsView } from './rootfs-view.js';
import { inUserns, usernsRanges } from './userns.js';

export interface CopyOutResult {
  /** false: `from` is not in the image (nothing was written) */
  found: boolean;
  /** entries written */
  entries: number;
  /** paths left out (devices, fifos, sockets), with their type */
  skipped: string[];
}

/** Copy `from` (a final symlink is copied as a link) to the host path `to`, which must not exist yet. */
export async function copyOutOfView(view: RootfsView, from: string, to: string): Promise<CopyOutResult> {
  const result: CopyOutResult = { found: false, entries: 0, skipped: [] };
  if (!(await view.lstat(from))) return result;
  result.found = true;
  await copyNode(view, from, to, result);
  return result;
}

/** copyOutOfView over snapshot dirs (lowest first), in the user namespace when files are done there. */
export async function copyOutOfLayers(layers: string[], from: string, to: string): Promise<CopyOutResult> {
  if (usernsRanges()) return inUserns<CopyOutResult>({ op: 'copy-out', layers, from, to });
  return copyOutOfView(new RootfsView(layers), from, to);
}

async function copyNode(view: RootfsView, from: string, to: string, r: CopyOutResult): Promise<void> {
  const st = await view.lstat(from);
  if (!st) return; // readdir listed it and snapshots do not change: only for the type checker
  switch (st.type) {
    case 'dir':
      // Writable until its children are in; its own mode last (it may be read-only).
      await fsp.mkdir(to, { mode: 0o700 });
      for (const name of (await view.readdir(from)) ?? []) await copyNode(view, posix.join(from, name), join(to, name), r);
      await fsp.chmod(to, st.mode);
      break;
    case 'file':
      await fsp.writeFile(to, (await view.readFile(from)) ?? Buffer.alloc(0), { flag: 'wx', mode: 0o600 });
      await fsp.chmod(to, st.mode);
      break;
    case 'symlink':
      await fsp.symlink(st.linkname ?? '', to);
      break;
    default:
      r.skipped.push(`${from} (${st.type})`);
      return;
  }
  r.entries++;
}
