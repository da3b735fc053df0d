// /etc/subuid and /etc/subgid: the subordinate id range a user may map into a user namespace.
// Apart from native/index.ts so that asking does not load the addon (cache/userns-ranges.ts asks on
// every store open of an unprivileged user).
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

export interface SubIdRange {
  start: number;
  count: number;
}

/** The first range of `name` (or of its numeric id) in `file`; undefined when it has none (or no file). */
export function readSubIds(file: string, name: string, id: number): SubIdRange | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if (!who || start === undefined || count === undefined) continue;
    if (who === name || who === String(id)) {
      const s = Number(start);
      const c = Number(count);
      if (Number.isInteger(s) && Number.isInteger(c) && c > 0) return { start: s, count: c };
    }
  }
  return undefined;
}

/** This process's user's ranges in /etc/subuid and /etc/subgid (looked up by name and by uid). */
export function ownSubIds(uid: number): { uid?: SubIdRange; gid?: SubIdRange } {
  let name = '';
  try {
    name = userInfo().username;
  } catch {
    /* no passwd entry: the numeric id alone */
  }
  return { uid: readSubIds('/etc/subuid', name, uid), gid: readSubIds('/etc/subgid', name, uid) };
}
