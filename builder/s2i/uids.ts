// --allowed-uids ranges and the "must specify a numeric user within range" check (§H-2, §H-3).
import { UserError } from '../../oci/errors.js';

export interface UidRange {
  min: number;
  max: number;
}

/** `N`, `A-B`, `A-` (open upper), `-B` (open lower), comma separated; bad syntax is a flag error. */
export function parseUidRanges(spec: string | undefined): UidRange[] {
  if (spec === undefined || spec.trim() === '') return [];
  return spec.split(',').map((part) => {
    const p = part.trim();
    const m = /^(\d*)(-?)(\d*)$/.exec(p);
    if (!m || p === '' || p === '-' || (m[2] === '' && m[1] === '')) throw new UserError(`invalid --allowed-uids range "${p}"`, { exitCode: 2 });
    const lo = m[1] === '' ? 0 : Number(m[1]);
    const hi = m[2] === '' ? lo : m[3] === '' ? Number.MAX_SAFE_INTEGER : Number(m[3]);
    if (hi < lo) throw new UserError(`invalid --allowed-uids range "${p}": upper bound below lower bound`, { exitCode: 2 });
    return { min: lo, max: hi };
  });
}

export function uidAllowed(ranges: UidRange[], user: string): boolean {
  if (!/^\d+$/.test(user)) return false;
  const n = Number(user);
  return ranges.some((r) => n >= r.min && n <= r.max);
}

export interface UserCheckInput {
  ranges: UidRange[];
  image: string;
  assembleUserFlag?: string;
  assembleUserLabel?: string;
  imageUser?: string;
  onBuild?: string[];
}

/** §H-3, in S2I's order. Failure is exit 15. */
export function checkAllowedUser(i: UserCheckInput): void {
  if (i.ranges.length === 0) return;
  const fail = (what: string): never => {
    throw new UserError(`image ${i.image} must specify a user that is numeric and within the range of allowed users (${what})`, {
      exitCode: 15,
      hint: 'use a builder whose USER (or io.openshift.s2i.assemble-user label) is a numeric uid in the --allowed-uids ranges, or pass --assemble-user',
    });
  };
  for (const trigger of i.onBuild ?? []) {
    const m = /^\s*USER\s+(\S+)/i.exec(trigger);
    if (m && !uidAllowed(i.ranges, m[1]!.split(':')[0]!)) fail(`ONBUILD USER ${m[1]}`);
  }
  if (i.assembleUserFlag !== undefined && i.assembleUserFlag !== '') {
    // The flag is checked as a whole string, so `1001:0` fails: S2I does the same.
    if (!uidAllowed(i.ranges, i.assembleUserFlag)) fail(`--assemble-user ${i.assembleUserFlag}`);
    return;
  }
  if (i.assembleUserLabel) {
    const u = i.assembleUserLabel.split(':')[0]!;
    if (!uidAllowed(i.ranges, u)) fail(`assemble-user label ${i.assembleUserLabel}`);
    return;
  }
  const u = (i.imageUser ?? '').split(':')[0]!;
  if (!uidAllowed(i.ranges, u)) fail(`USER ${JSON.stringify(i.imageUser ?? '')}`);
}
