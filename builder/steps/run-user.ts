// USER for a RUN step, resolved the way runc does for a container process: `name` or `uid`, with an
// optional `:group`; no USER is uid 0 (no /etc/passwd needed: a FROM scratch image can RUN); a name
// must exist in the image's /etc/passwd, a numeric uid need not (its gid is then 0); supplementary
// groups are the primary group then, when no group was given, the /etc/group entries listing the
// user by name (runc: "supplementary group ids only make sense if in the implicit form"; what `id`
// shows under Docker and buildah); `user:` is `user`, as runc parses it; HOME comes from passwd (or
// `/`) when the environment has none.
import { UserError, type SourceLocation } from '../../oci/errors.js';
import type { RootfsReader } from './layer-entry.js';

export interface RunUser {
  uid: number;
  gid: number;
  groups: number[];
  home: string;
}

const NUMERIC = /^\d+$/;

function records(text: string | undefined): string[][] {
  return (text ?? '')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

export async function resolveRunUser(spec: string | undefined, rootfs: RootfsReader, location?: SourceLocation): Promise<RunUser> {
  const [user = '', groupGiven, ...extra] = (spec ?? '').split(':');
  const group = groupGiven === '' ? undefined : groupGiven;
  if (extra.length > 0) throw new UserError(`invalid USER ${JSON.stringify(spec)}: expected user[:group]`, { location });
  const passwd = records((await rootfs.readFile('/etc/passwd'))?.toString('utf8'));
  const groupDb = records((await rootfs.readFile('/etc/group'))?.toString('utf8'));
  const name = user === '' ? '0' : user;
  const pw = NUMERIC.test(name) ? passwd.find((f) => f[2] === name) : passwd.find((f) => f[0] === name);
  if (!pw && !NUMERIC.test(name)) throw new UserError(`unable to find user ${name}: no matching entries in passwd file`, { location });
  const uid = NUMERIC.test(name) ? Number(name) : Number(pw![2]);
  let gid = pw && NUMERIC.test(pw[3] ?? '') ? Number(pw[3]) : 0;
  if (group !== undefined) {
    if (NUMERIC.test(group)) gid = Number(group);
    else {
      const g = groupDb.find((f) => f[0] === group);
      if (!g || !NUMERIC.test(g[2] ?? '')) throw new UserError(`unable to find group ${group}: no matching entries in group file`, { location });
      gid = Number(g[2]);
    }
  }
  if (!Number.isSafeInteger(uid) || uid > 0xfffffffe || gid > 0xfffffffe) throw new UserError(`invalid USER ${JSON.stringify(spec)}: id out of range`, { location });
  const groups: number[] = [gid];
  const userName = pw?.[0];
  if (userName !== undefined && group === undefined) {
    for (const g of groupDb) {
      const members = (g[3] ?? '').split(',').filter(Boolean);
      if (members.includes(userName) && NUMERIC.test(g[2] ?? '')) {
        const id = Number(g[2]);
        if (!groups.includes(id)) groups.push(id);
      }
    }
  }
  return { uid, gid, groups, home: pw?.[5] || '/' };
}
