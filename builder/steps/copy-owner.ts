// --chown=user[:group] → numeric ids, with names looked up in the destination rootfs' /etc/passwd
// and /etc/group (as BuildKit does). A bare numeric uid also becomes the gid; a bare user name
// takes the user's primary group.

import { UserError, type SourceLocation } from '../../oci/errors.js';
import type { RootfsReader } from './layer-entry.js';

export interface Owner {
  uid: number;
  gid: number;
}

const NUMERIC = /^\d+$/;

function parseDb(text: string | undefined): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of (text ?? '').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (!m.has(f[0])) m.set(f[0], f);
  }
  return m;
}

export async function resolveOwner(spec: string, rootfs: RootfsReader, location?: SourceLocation): Promise<Owner> {
  const [user, group, ...extra] = spec.split(':');
  if (user === '' || extra.length > 0 || group === '') {
    throw new UserError(`invalid --chown value ${JSON.stringify(spec)}: expected user[:group]`, { location });
  }
  let uid: number;
  let gid: number;
  if (NUMERIC.test(user)) {
    uid = Number(user);
    gid = uid;
  } else {
    const passwd = parseDb((await rootfs.readFile('/etc/passwd'))?.toString('utf8'));
    const f = passwd.get(user);
    if (!f || !NUMERIC.test(f[2] ?? '') || !NUMERIC.test(f[3] ?? '')) {
      throw new UserError(`unable to find user ${user}: no matching entries in passwd file`, { location });
    }
    uid = Number(f[2]);
    gid = Number(f[3]);
  }
  if (group !== undefined) {
    if (NUMERIC.test(group)) gid = Number(group);
    else {
      const groups = parseDb((await rootfs.readFile('/etc/group'))?.toString('utf8'));
      const f = groups.get(group);
      if (!f || !NUMERIC.test(f[2] ?? '')) {
        throw new UserError(`unable to find group ${group}: no matching entries in group file`, { location });
      }
      gid = Number(f[2]);
    }
  }
  return { uid, gid };
}

/** --chmod: octal only (symbolic modes such as u+x are refused with a clear error). */
export function parseChmod(spec: string | undefined, location?: SourceLocation): number | undefined {
  if (spec === undefined) return undefined;
  if (!/^[0-7]{1,4}$/.test(spec)) {
    throw new UserError(`invalid --chmod value ${JSON.stringify(spec)}: only octal modes (e.g. 0755) are supported`, { location });
  }
  return parseInt(spec, 8);
}
