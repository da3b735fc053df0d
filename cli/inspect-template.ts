// `inspect --format`: the part of Go's text/template that scripts pass to `podman inspect --format`
// — field paths (`{{.Config.Env}}`), `{{json .Config}}` and `{{index .Config.Labels "key"}}` — with
// values printed as Go prints them (`[a b]` for lists, `map[k:v]` for objects, `<no value>` for a
// missing one). Anything else inside braces is an error, not text printed as it is.
import { UserError } from '../oci/errors.js';

const PATH = /^\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)?$/;

function lookup(root: unknown, path: string, format: string): unknown {
  const m = PATH.exec(path);
  if (!m) throw badTemplate(format, `"${path}" is not a field path such as .Config.Env`);
  let v = root;
  for (const key of m[1]?.split('.') ?? []) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** A value as Go's fmt prints it in a template. */
function goString(v: unknown): string {
  if (v === undefined || v === null) return '<no value>';
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `map[${Object.keys(o).sort().map((k) => `${k}:${goString(o[k])}`).join(' ')}]`;
  }
  return String(v);
}

function badTemplate(format: string, why: string): UserError {
  return new UserError(`inspect --format ${JSON.stringify(format)}: ${why}`, {
    exitCode: 2,
    hint: 'supported: {{.Field.Sub}}, {{json .Field}}, {{index .Field "key"}}',
  });
}

function evaluate(expr: string, root: unknown, format: string): string {
  const words = expr.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
  if (words.length === 1) return goString(lookup(root, words[0]!, format));
  if (words[0] === 'json' && words.length === 2) return JSON.stringify(lookup(root, words[1]!, format) ?? null);
  if (words[0] === 'index' && words.length >= 3) {
    let v = lookup(root, words[1]!, format);
    for (const k of words.slice(2)) {
      const key = k.startsWith('"') ? (JSON.parse(k) as string) : Number(k);
      if (typeof key === 'number' && !Number.isInteger(key)) throw badTemplate(format, `index ${k}: not a string or an integer`);
      v = v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[key] : undefined;
    }
    return goString(v);
  }
  throw badTemplate(format, `unsupported {{${expr}}}`);
}

export function renderInspectTemplate(format: string, value: unknown): string {
  const out = format.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_m, expr: string) => evaluate(expr, value, format));
  return out.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}
