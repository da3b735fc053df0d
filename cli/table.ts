// Output helpers for listing commands (images, history): aligned tables and podman's Go-template-like
// --format strings. Only field references are supported — `{{.Field}}` and `{{ .Field }}`, plus
// `\t` and `\n` escapes — which covers what people pass to `podman images --format`; anything else
// inside braces is an error naming the fields that exist, not silently printed as-is.
import { UserError } from '../oci/errors.js';

export function renderTemplate(format: string, row: Record<string, unknown>, command: string): string {
  const out = format.replace(/\{\{\s*(.*?)\s*\}\}/g, (_m, expr: string) => {
    const field = /^\.(\w+)$/.exec(expr);
    const v = field ? row[field[1]!] : undefined;
    if (!field || v === undefined) {
      throw new UserError(`${command} --format: unknown field {{${expr}}}`, { hint: `fields: ${Object.keys(row).map((k) => '.' + k).join(', ')}`, exitCode: 2 });
    }
    return Array.isArray(v) ? v.join(',') : String(v);
  });
  return out.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

export function printTable(header: string[], rows: string[][], write: (s: string) => void = (s) => void process.stdout.write(s)): void {
  const table = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...table.map((row) => (row[c] ?? '').length)));
  for (const row of table) write(row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join('').trimEnd() + '\n');
}

/** "3 minutes ago", as podman prints CREATED. */
export function relativeTime(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((now - t) / 1000);
  if (s < 0) return iso;
  if (s < 60) return s <= 1 ? 'Less than a second ago' : `${s} seconds ago`;
  const units: [number, string][] = [[31_536_000, 'year'], [2_592_000, 'month'], [604_800, 'week'], [86_400, 'day'], [3600, 'hour'], [60, 'minute']];
  for (const [n, name] of units) {
    if (s >= n) {
      const k = Math.floor(s / n);
      return k === 1 ? `${name === 'hour' ? 'An' : 'A'} ${name} ago` : `${k} ${name}s ago`;
    }
  }
  return iso;
}
