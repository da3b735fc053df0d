// Whether this process does its file work in a user namespace (cache/userns.ts), and with which
// subordinate id ranges. Apart from userns.ts so that asking does not load the helper's code.
import { childProcessBuiltin } from '../oci/builtins.js';
import { ownSubIds, type SubIdRange } from '../native/subids.js';

export type Range = SubIdRange;

let cached: { uid: Range; gid: Range } | null | undefined;

/** The subordinate ranges when this (non-root) process should do file work in a user namespace. */
export function usernsRanges(): { uid: Range; gid: Range } | undefined {
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  const uid = process.getuid?.() ?? 0;
  if (uid === 0 || process.env['TSBUILD_USERNS_FILES'] === '0') return undefined;
  const { uid: u, gid: g } = ownSubIds(uid);
  // node:child_process only when it is needed: root never gets here, and every command opens the store.
  if (u && g && childProcessBuiltin().spawnSync('unshare', ['--version'], { stdio: 'ignore' }).status === 0) cached = { uid: u, gid: g };
  return cached ?? undefined;
}
