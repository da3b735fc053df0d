// Go's time.ParseDuration, because HEALTHCHECK flags use Go duration syntax and the image config
// stores nanoseconds.

import { UserError, type SourceLocation } from '../../oci/errors.js';

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  '\u00b5s': 1e3, // micro sign
  '\u03bcs': 1e3, // Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

// The micro signs as escapes: one literal non-ASCII character made the whole CLI bundle a two-byte
// string for V8 (scripts/bundle-cli.mjs keeps the bundle ASCII and decodes it as Latin-1).
const COMPONENT_RE = /^(\d*)(?:\.(\d*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/;

/** "1m30s" → 90e9. Accepts a sign, fractions ("1.5h") and the bare "0"; UserError otherwise. */
export function parseDuration(s: string, location?: SourceLocation): number {
  const bad = () => new UserError(`time: invalid duration "${s}"`, { location });
  let rest = s;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw bad();
  let total = 0;
  while (rest !== '') {
    const m = COMPONENT_RE.exec(rest);
    if (!m) throw bad();
    const [all, int = '', frac = ''] = m;
    if (int === '' && frac === '') throw bad(); // "s" or ".s" has no number
    const unit = UNIT_NS[m[3]!]!;
    total += (int === '' ? 0 : Number(int)) * unit;
    if (frac !== '') total += (Number(frac) / 10 ** frac.length) * unit;
    rest = rest.slice(all.length);
  }
  return sign * Math.round(total);
}
