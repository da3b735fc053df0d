// A RUN step's overlay upper dir, once its layer is written, already is that layer unpacked in
// snapshot format: whiteouts are char 0/0 devices and opaque dirs carry the opaque xattr of the
// namespace the store uses (trusted.* as root, user.* in a user namespace: the same ones
// cache/layer-apply.ts writes). So it can become the layer's snapshot by a rename instead of
// unpacking the blob just written (SnapshotStore.adopt). What the upper holds and an unpacked
// snapshot does not is removed here first:
//  - the root dir's attributes: a layer has no entry for `/`, so an unpacked snapshot's root is a
//    fresh 0755 dir of ours without xattrs, while the upper's root has the image root's mode (given
//    by cache/run-scratch.ts) and whatever the step did to `/`;
//  - sockets, and overlay's own xattrs other than the opaque marker (origin, impure, or markers of
//    the other namespace that the step set itself), which the scan reported in `leftOut`;
//  - mtimes the layer records otherwise: --timestamp / SOURCE_DATE_EPOCH, and the dirs a removed
//    socket was in (an unpacked snapshot has the layer's whole seconds; a kept file keeps its
//    nanoseconds, which no layer, later one or reader of it can tell apart).
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { WHITEOUT_PREFIX, type LayerEntry } from './layer-entry.js';
import type { LeftOut } from './layer-scan.js';
import { isRoot, loadNative } from './native.js';

/** The build's mtime policy, as commitEntries and writeLayer apply it. */
export interface MtimePolicy {
  /** --timestamp: every mtime. */
  timestamp?: number | undefined;
  /** SOURCE_DATE_EPOCH: later mtimes become this. */
  clampMtime?: number | undefined;
}

/** The whole seconds a layer records for an mtime (tar headers hold seconds). */
function layerSeconds(mtime: number, p: MtimePolicy): number {
  const t = p.timestamp ?? mtime;
  return Math.max(0, Math.floor(p.clampMtime !== undefined && t > p.clampMtime ? p.clampMtime : t));
}

/** `entries`: what the scan of `upper` found (mtimes as found); `leftOut`: what it left out. */
export async function upperAsSnapshot(upper: string, leftOut: LeftOut, entries: LayerEntry[], policy: MtimePolicy = {}): Promise<void> {
  const native = await loadNative();
  if (!native?.lremovexattr) throw new Error('keeping an upper dir as a snapshot needs the native addon');
  const touched = new Set<string>();
  for (const p of leftOut.sockets) {
    await fsp.rm(join(upper, p), { force: true });
    touched.add(dirname(p));
  }
  for (const { path, name } of leftOut.xattrs) native.lremovexattr(join(upper, path), name);
  let rootXattrs: string[] = [];
  try {
    rootXattrs = native.llistxattr(upper);
  } catch {
    /* no xattr support: nothing to remove */
  }
  for (const name of rootXattrs) {
    try {
      native.lremovexattr(upper, name);
    } catch {
      // security.* labels without privilege: host policy, as on a fresh dir
    }
  }
  for (const e of entries) {
    if (e.type === 'hardlink' || e.path.slice(e.path.lastIndexOf('/') + 1).startsWith(WHITEOUT_PREFIX)) continue;
    const want = layerSeconds(e.mtime, policy);
    if (want !== Math.floor(e.mtime) || touched.has(e.path)) await fsp.lutimes(join(upper, e.path), want, want);
  }
  if (isRoot()) await fsp.lchown(upper, 0, 0);
  await fsp.chmod(upper, 0o755);
}
