// `RUN --mount=...` values → typed mount requests, with BuildKit's keys and defaults
// (instructions/commands_runmount.go): bind (source from the context or `from=` a stage/image,
// read-only unless `rw`), cache (`id` defaults to the target, `sharing=shared|private|locked`,
// `uid`/`gid`/`mode`), tmpfs (`size`), secret (`id`, target /run/secrets/<id>, `required`, `mode`
// 0400, `uid`/`gid`). Unknown types and keys are errors at the instruction's line.
import { posix } from 'node:path';
import { UserError, type SourceLocation } from '../../oci/errors.js';

export interface BindMountReq { type: 'bind'; target: string; source: string; from?: string; rw: boolean }
export interface CacheMountReq { type: 'cache'; target: string; id: string; sharing: 'shared' | 'private' | 'locked'; from?: string; source?: string; mode: number; uid: number; gid: number; rw: boolean }
export interface TmpfsMountReq { type: 'tmpfs'; target: string; size?: number }
export interface SecretMountReq { type: 'secret'; target: string; id: string; required: boolean; mode: number; uid: number; gid: number; env?: string }
export type MountReq = BindMountReq | CacheMountReq | TmpfsMountReq | SecretMountReq;

const KEYS: Record<MountReq['type'], string[]> = {
  bind: ['type', 'target', 'source', 'from', 'readonly', 'readwrite'],
  cache: ['type', 'target', 'source', 'from', 'readonly', 'readwrite', 'id', 'sharing', 'mode', 'uid', 'gid'],
  tmpfs: ['type', 'target', 'size'],
  secret: ['type', 'target', 'id', 'required', 'mode', 'uid', 'gid', 'env'],
};
const ALIASES: Record<string, string> = { src: 'source', dst: 'target', destination: 'target', ro: 'readonly', rw: 'readwrite' };

/** CSV fields as BuildKit reads them (encoding/csv: double quotes group, "" is a quote). */
function csvFields(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quoted) {
      if (ch === '"' && s[i + 1] === '"') (cur += '"'), i++;
      else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"' && cur === '') quoted = true;
    else if (ch === ',') (out.push(cur), (cur = ''));
    else cur += ch;
  }
  out.push(cur);
  return out;
}

function bool(key: string, v: string | undefined, loc: SourceLocation): boolean {
  if (v === undefined) return true;
  const l = v.toLowerCase();
  if (['1', 't', 'true'].includes(l)) return true;
  if (['0', 'f', 'false'].includes(l)) return false;
  throw new UserError(`invalid value for ${key}: ${v}`, { location: loc });
}

function uint(key: string, v: string, loc: SourceLocation, base = 10): number {
  const re = base === 8 ? /^0?[0-7]{1,4}$/ : /^\d+$/;
  if (!re.test(v)) throw new UserError(`invalid value for ${key}: ${v}`, { location: loc });
  return parseInt(v, base);
}

/** `size=64m` and friends (units as go-units RAMInBytes). */
function bytes(v: string, loc: SourceLocation): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(v);
  if (!m) throw new UserError(`invalid value for size: ${v}`, { location: loc });
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * mult);
}

function absTarget(t: string | undefined, workdir: string, loc: SourceLocation): string {
  if (t === undefined || t === '') throw new UserError('mount target must be set', { location: loc });
  return posix.resolve(workdir, t);
}

export function parseMount(value: string, workdir: string, loc: SourceLocation): MountReq {
  const kv = new Map<string, string | undefined>();
  for (const field of csvFields(value)) {
    if (field === '') continue;
    const eq = field.indexOf('=');
    const rawKey = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const key = ALIASES[rawKey] ?? rawKey;
    kv.set(key, eq < 0 ? undefined : field.slice(eq + 1));
  }
  const type = (kv.get('type') ?? 'bind').toLowerCase();
  if (type === 'ssh') throw new UserError('RUN --mount=type=ssh is not supported', { location: loc });
  if (!(type in KEYS)) throw new UserError(`unsupported mount type "${type}"`, { location: loc });
  const t = type as MountReq['type'];
  for (const k of kv.keys()) if (!KEYS[t].includes(k)) throw new UserError(`unexpected key '${k}' in '${value}'`, { location: loc });
  const str = (k: string) => {
    const v = kv.get(k);
    return v === undefined ? undefined : v;
  };
  const ro = kv.has('readonly') ? bool('readonly', str('readonly'), loc) : undefined;
  const rw = kv.has('readwrite') ? bool('readwrite', str('readwrite'), loc) : undefined;
  switch (t) {
    case 'bind':
      return { type: 'bind', target: absTarget(str('target'), workdir, loc), source: str('source') ?? '/', from: str('from') || undefined, rw: rw ?? (ro === undefined ? false : !ro) };
    case 'cache': {
      const target = absTarget(str('target'), workdir, loc);
      const sharing = (str('sharing') ?? 'shared').toLowerCase();
      if (!['shared', 'private', 'locked'].includes(sharing)) throw new UserError(`unsupported sharing value "${sharing}"`, { location: loc });
      return {
        type: 'cache',
        target,
        id: str('id') || target,
        sharing: sharing as CacheMountReq['sharing'],
        from: str('from') || undefined,
        source: str('source') || undefined,
        mode: str('mode') !== undefined ? uint('mode', str('mode')!, loc, 8) : 0o755,
        uid: str('uid') !== undefined ? uint('uid', str('uid')!, loc) : 0,
        gid: str('gid') !== undefined ? uint('gid', str('gid')!, loc) : 0,
        rw: rw ?? (ro === undefined ? true : !ro),
      };
    }
    case 'tmpfs': {
      const size = str('size');
      return { type: 'tmpfs', target: absTarget(str('target'), workdir, loc), ...(size !== undefined ? { size: bytes(size, loc) } : {}) };
    }
    case 'secret': {
      let id = str('id');
      let target = str('target');
      if (!id) {
        if (!target) throw new UserError('secret mount needs an id or a target', { location: loc });
        id = posix.basename(target);
      }
      const env = str('env');
      if (!target && env === undefined) target = `/run/secrets/${id}`;
      return {
        type: 'secret',
        id,
        target: target ? posix.resolve(workdir, target) : '',
        required: kv.has('required') ? bool('required', str('required'), loc) : false,
        mode: str('mode') !== undefined ? uint('mode', str('mode')!, loc, 8) : 0o400,
        uid: str('uid') !== undefined ? uint('uid', str('uid')!, loc) : 0,
        gid: str('gid') !== undefined ? uint('gid', str('gid')!, loc) : 0,
        ...(env !== undefined ? { env } : {}),
      };
    }
  }
}
