// When RUN cannot start, say which capability or kernel permission was missing and which
// --isolation works instead: the runtime's own message ("clone: Operation not permitted") is exact
// but does not tell a user in a locked-down pod what to change.
import type { Isolation } from '../../native/index.js';

const OTHER: Record<Isolation, string> = {
  oci: 'use --isolation rootless (a user namespace of its own), or --isolation chroot where user namespaces are denied too',
  rootless: 'use --isolation chroot (no namespaces or mounts needed; files are copied instead of overlaid)',
  chroot: 'run as root, or where chroot(2) is allowed (CAP_SYS_CHROOT)',
};

/** A hint for the runtime failure `message` under `isolation`, or undefined when there is no obvious fix. */
export function isolationHint(message: string, isolation: Isolation): string | undefined {
  const m = message.toLowerCase();
  let lacked: string | undefined;
  if (/clone: .*(operation not permitted|permission denied)|namespaces not permitted|unshare/.test(m)) {
    lacked = isolation === 'oci' ? 'CAP_SYS_ADMIN (needed to create mount, pid, uts and ipc namespaces)' : 'permission to create a user namespace (user.max_user_namespaces, a seccomp or AppArmor profile, or kernel.unprivileged_userns_clone)';
  } else if (/uid_map|gid_map|newuidmap|newgidmap/.test(m)) {
    lacked = 'permission to write the user namespace id maps (already inside a user namespace, or newuidmap is not setuid)';
  } else if (/setgroups/.test(m)) {
    lacked = 'setgroups(2) (this user namespace was made with setgroups=deny, as `unshare --map-root-user` does)';
  } else if (/mount|overlay|pivot_root/.test(m) && /not permitted|permission denied|eperm|eacces/.test(m)) {
    lacked = 'CAP_SYS_ADMIN over the mount namespace (needed for the overlay, /proc and pivot_root)';
  } else if (/chroot/.test(m) && /not permitted|eperm/.test(m)) {
    lacked = 'CAP_SYS_CHROOT';
  }
  if (!lacked) return undefined;
  // Denied setgroups or id maps mean a user namespace made by someone else: a nested rootless one
  // cannot map more ids either, so chroot is the mode that works there.
  const alt = /setgroups|uid_map|gid_map/.test(m) ? OTHER.rootless : OTHER[isolation];
  return `${isolation} isolation lacked ${lacked}: ${alt}; "tsbuild info" shows which modes work here`;
}
