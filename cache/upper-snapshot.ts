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
//    the other namespace that the step set itself), which the scan reported in `leftOut`.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { LeftOut } from './layer-scan.js';
import { isRoot, loadNative } from './native.js';

export async function upperAsSnapshot(upper: string, leftOut: LeftOut): Promise<void> {
  const native = await loadNative();
  if (!native?.lremovexattr) throw new Error('keeping an upper dir as a snapshot needs the native addon');
  for (const p of leftOut.sockets) await fsp.rm(join(upper, p), { force: true });
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
  if (isRoot()) await fsp.lchown(upper, 0, 0);
  await fsp.chmod(upper, 0o755);
}
