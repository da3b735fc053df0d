// Whether this process does its file work in a user namespace (cache/userns.ts), and with which
// subordinate id ranges. Apart from userns.ts so that asking does not load the helper's code.
import type * as childProcess from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { userInfo } from 'node:os';

export interface Range { start: number; count: number }

function subRange(file: string, name: string, id: number): Range | undefined {
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [who, s, c] = line.trim().split(':');
      if ((who === name || who === String(id)) && Number(c) > 0) return { start: Number(s), count: Number(c) };
    }
  } catch {
    /* no file */
  }
  return undefined;
}

let cached: { uid: Range; gid: Range } | null | undefined;

/** The subordinate ranges when this (non-root) process should do file work in a user namespace. */
export function usernsRanges(): { uid: Range; gid: Range } | undefined {
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  const uid = process.getuid?.() ?? 0;
  if (uid === 0 || process.env['TSBUILD_USERNS_FILES'] === '0') return undefined;
  let name = '';
  try {
    name = userInfo().username;
  } catch {
    /* no passwd entry */
  }
  const u = subRange('/etc/subuid', name, uid);
  const g = subRange('/etc/subgid', name, uid);
  // node:child_process only when it is needed: root never gets here, and every command opens the store.
  const { spawnSync } = createRequire(import.meta.url)('node:child_process') as typeof childProcess;
  if (u && g && spawnSync('unshare', ['--version'], { stdio: 'ignore' }).status === 0) cached = { uid: u, gid: g };
  return cached ?? undefined;
}
