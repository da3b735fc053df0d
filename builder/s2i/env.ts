// The S2I environment list (§D): `.s2i/environment`, then `-e`, then `-E`, later entries win.
// Values are literal: no quote removal, no `$VAR` expansion — S2I passes them through as written.
import { readFile } from 'node:fs/promises';
import { UserError } from '../../oci/errors.js';

export type EnvList = Array<[string, string]>;

/** `.s2i/environment`: trimmed NAME=VALUE lines, `#` in column 1 is a comment, junk lines are skipped silently. */
export function parseEnvironmentFile(text: string): EnvList {
  const out: EnvList = [];
  for (const raw of text.split('\n')) {
    if (raw.startsWith('#')) continue;
    const eq = raw.indexOf('=');
    if (eq < 0) continue;
    const name = raw.slice(0, eq).trim();
    if (name === '') continue;
    out.push([name, raw.slice(eq + 1).trim()]);
  }
  return out;
}

/** `-e NAME=VALUE`: split at the first `=`; an empty value is allowed, a missing name is not. */
export function parseEnvFlag(spec: string, warn: (m: string) => void = () => undefined): [string, string] {
  const eq = spec.indexOf('=');
  const name = eq < 0 ? '' : spec.slice(0, eq).trim();
  if (name === '') throw new UserError(`invalid --env "${spec}": expected NAME=VALUE`, { exitCode: 2 });
  const value = spec.slice(eq + 1).trim();
  // S2I once split on commas; it now keeps the value whole and only warns, as we do.
  if (value.includes(',') && value.includes('=')) warn(`--env ${name}: the value "${value}" is kept as one value (commas do not separate variables)`);
  return [name, value];
}

/**
 * `-E FILE`: also `//` comments; duplicates inside the file collapse to the last one. An unreadable
 * file only warns, as in S2I.
 */
export async function readEnvironmentFlagFile(path: string, warn: (m: string) => void): Promise<EnvList> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    warn(`cannot read environment file ${path}: ${(e as Error).message}; continuing without it`);
    return [];
  }
  const map = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('//')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    map.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return [...map];
}

/** Names an ENV instruction (and the image config) can carry. */
export function checkEnvName(name: string): void {
  if (!/^[^\s=]+$/.test(name)) throw new UserError(`invalid environment variable name "${name}"`, { exitCode: 2 });
}

/** Collapse the ordered list to last-wins, keeping first-seen order (what a single ENV instruction yields). */
export function mergeEnv(...lists: EnvList[]): EnvList {
  const m = new Map<string, string>();
  for (const l of lists) for (const [k, v] of l) m.set(k, v);
  return [...m];
}
