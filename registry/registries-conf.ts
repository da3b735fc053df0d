// registries.conf (v2) — the subset tsbuild honours:
//   unqualified-search-registries = ["quay.io", "docker.io"]
//   [[registry]]  prefix / location / insecure / blocked
//   [[registry.mirror]]  location / insecure
//   [aliases]  "name" = "host/repo"   (short-name aliases, as in registries.conf.d/shortnames.conf)
// Read from $CONTAINERS_REGISTRIES_CONF, else ~/.config/containers/registries.conf, else
// /etc/containers/registries.conf, plus the sibling registries.conf.d/*.conf drop-ins for the
// default locations. TOML is parsed by a small reader for exactly what these files use (strings,
// booleans, integers, arrays, tables, arrays of tables), to avoid a dependency.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../oci/errors.js';
import { formatReference, parseReference, type ImageReference } from '../oci/reference.js';

export interface MirrorConf {
  location: string;
  insecure: boolean;
}

export interface RegistryConf {
  prefix: string;
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrors: MirrorConf[];
}

export interface RegistriesConf {
  unqualifiedSearchRegistries: string[];
  registries: RegistryConf[];
  aliases: Record<string, string>;
  /** Files read, for messages. */
  files: string[];
}

/** One place to try: a registry (host[:port]) and repository, after prefix rewriting. */
export interface Endpoint {
  registry: string;
  repository: string;
  insecure: boolean;
  mirror: boolean;
}

// ---------------------------------------------------------------- loading

export async function loadRegistriesConf(path?: string): Promise<RegistriesConf> {
  const explicit = path ?? process.env.CONTAINERS_REGISTRIES_CONF;
  const conf: RegistriesConf = { unqualifiedSearchRegistries: [], registries: [], aliases: {}, files: [] };
  if (explicit) {
    let text: string;
    try {
      text = readFileSync(explicit, 'utf8');
    } catch (e) {
      throw new UserError(`cannot read registries configuration ${explicit}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    merge(conf, parseRegistriesConf(text, explicit), explicit);
    return conf;
  }
  const user = join(process.env.HOME || homedir(), '.config', 'containers', 'registries.conf');
  const main = existsSync(user) ? user : '/etc/containers/registries.conf';
  const files = existsSync(main) ? [main] : [];
  for (const dir of ['/etc/containers/registries.conf.d', user + '.d']) {
    try {
      files.push(...readdirSync(dir).filter((n) => n.endsWith('.conf')).sort().map((n) => join(dir, n)));
    } catch {
      /* no drop-in directory */
    }
  }
  // A few small files, read synchronously: microseconds, where each promise-based step is a thread-pool round trip.
  for (const f of files) merge(conf, parseRegistriesConf(readFileSync(f, 'utf8'), f), f);
  return conf;
}

/** Later files win: a [[registry]] with the same prefix replaces the earlier one (containers/image rule). */
function merge(into: RegistriesConf, from: Omit<RegistriesConf, 'files'> & { hasSearch: boolean }, file: string): void {
  if (from.hasSearch) into.unqualifiedSearchRegistries = from.unqualifiedSearchRegistries;
  for (const r of from.registries) {
    const i = into.registries.findIndex((x) => x.prefix === r.prefix);
    if (i >= 0) into.registries[i] = r;
    else into.registries.push(r);
  }
  Object.assign(into.aliases, from.aliases);
  into.files.push(file);
}

export function parseRegistriesConf(text: string, file = 'registries.conf'): Omit<RegistriesConf, 'files'> & { hasSearch: boolean } {
  const doc = parseToml(text, file);
  const bad = (what: string): never => {
    throw new UserError(`${file}: ${what}`);
  };
  const str = (v: unknown, what: string): string => (typeof v === 'string' ? v : bad(`${what} must be a string`));
  const bool = (v: unknown, what: string): boolean => (v === undefined ? false : typeof v === 'boolean' ? v : bad(`${what} must be true or false`));
  const search = doc['unqualified-search-registries'];
  if (search !== undefined && (!Array.isArray(search) || search.some((s) => typeof s !== 'string'))) bad('unqualified-search-registries must be an array of strings');
  const registries: RegistryConf[] = [];
  const list = doc.registry ?? [];
  if (!Array.isArray(list)) bad('registry must be written [[registry]]');
  for (const t of list as Record<string, unknown>[]) {
    const location = t.location === undefined ? '' : str(t.location, 'registry.location');
    const prefix = t.prefix === undefined ? location : str(t.prefix, 'registry.prefix');
    if (!prefix) bad('a [[registry]] needs a prefix or a location');
    const mirrors = ((t.mirror ?? []) as Record<string, unknown>[]).map((m) => ({ location: str(m.location, 'registry.mirror.location'), insecure: bool(m.insecure, 'registry.mirror.insecure') }));
    registries.push({ prefix, location: location || (prefix.startsWith('*.') ? '' : prefix), insecure: bool(t.insecure, 'registry.insecure'), blocked: bool(t.blocked, 'registry.blocked'), mirrors });
  }
  const aliases: Record<string, string> = {};
  const a = doc.aliases;
  if (a && typeof a === 'object' && !Array.isArray(a)) for (const [k, v] of Object.entries(a)) aliases[k] = str(v, `aliases.${k}`);
  return { unqualifiedSearchRegistries: (search as string[] | undefined) ?? [], registries, aliases, hasSearch: search !== undefined };
}

// ---------------------------------------------------------------- resolution

/** The [[registry]] whose prefix matches `name` ("host/repo") longest, if any. */
export function findRegistry(conf: RegistriesConf, name: string): RegistryConf | undefined {
  let best: RegistryConf | undefined;
  let bestLen = -1;
  for (const r of conf.registries) {
    let len = -1;
    if (r.prefix.startsWith('*.')) {
      const host = name.split('/')[0].replace(/:\d+$/, '');
      if (host.endsWith(r.prefix.slice(1))) len = r.prefix.length;
    } else if (name === r.prefix || name.startsWith(r.prefix + '/') || name.startsWith(r.prefix + ':') || name.startsWith(r.prefix + '@')) {
      len = r.prefix.length;
    }
    if (len > bestLen) {
      best = r;
      bestLen = len;
    }
  }
  return best;
}

function rewrite(name: string, r: RegistryConf, location: string): { registry: string; repository: string } {
  const rest = r.prefix.startsWith('*.') || !location ? name : location + name.slice(r.prefix.length);
  const slash = rest.indexOf('/');
  if (slash < 0) throw new UserError(`registries.conf location ${JSON.stringify(location)} leaves no repository for ${name}`);
  return { registry: rest.slice(0, slash), repository: rest.slice(slash + 1) };
}

/** Where to pull `ref` from: mirrors first, then the (rewritten) primary location. */
export function pullEndpoints(conf: RegistriesConf, ref: ImageReference, refText: string): Endpoint[] {
  return endpoints(conf, ref, refText, true);
}

/**
 * Where to push `ref`: where it names, as containers/image does — `location` rewrites and mirrors
 * are for pulls only; the matching entry still decides `insecure` and `blocked`.
 */
export function pushEndpoint(conf: RegistriesConf, ref: ImageReference, refText: string): Endpoint {
  const r = findRegistry(conf, `${ref.domain}/${ref.path}`);
  if (r?.blocked) throw new UserError(`${refText}: registry ${r.prefix} is blocked in registries.conf`);
  return { registry: ref.domain, repository: ref.path, insecure: r?.insecure ?? false, mirror: false };
}

function endpoints(conf: RegistriesConf, ref: ImageReference, refText: string, withMirrors: boolean): Endpoint[] {
  const name = `${ref.domain}/${ref.path}`;
  const r = findRegistry(conf, name);
  if (!r) return [{ registry: ref.domain, repository: ref.path, insecure: false, mirror: false }];
  if (r.blocked) throw new UserError(`${refText}: registry ${r.prefix} is blocked in registries.conf`);
  const out: Endpoint[] = [];
  if (withMirrors) for (const m of r.mirrors) out.push({ ...rewrite(name, r, m.location), insecure: m.insecure, mirror: true });
  out.push({ ...rewrite(name, r, r.location), insecure: r.insecure, mirror: false });
  return out;
}

/**
 * Candidates for a short name, in order: an alias, else each unqualified-search registry.
 * A fully qualified name resolves to itself. (The docker:// transport itself never searches:
 * like skopeo, `docker://busybox` means docker.io; `pull` with a bare name uses this.)
 */
export function resolveShortName(conf: RegistriesConf, name: string): string[] {
  const first = name.split('/')[0];
  const qualified = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (qualified) return [normalize(name)];
  const bare = name.replace(/[:@].*$/, '');
  const suffix = name.slice(bare.length);
  const alias = conf.aliases[bare];
  if (alias) return [normalize(alias + suffix)];
  if (conf.unqualifiedSearchRegistries.length === 0) throw new UserError(`short name ${JSON.stringify(name)} cannot be resolved: no unqualified-search-registries in ${conf.files.join(', ') || 'registries.conf'}`);
  return conf.unqualifiedSearchRegistries.map((reg) => normalize(`${reg}/${name}`));
}

function normalize(s: string): string {
  return formatReference(parseReference(s));
}

// ---------------------------------------------------------------- the TOML subset

type TomlValue = string | number | boolean | TomlValue[] | TomlTable;
interface TomlTable {
  [k: string]: TomlValue;
}

export function parseToml(text: string, file: string): TomlTable {
  const root: TomlTable = {};
  let table: TomlTable = root;
  let i = 0;
  let line = 1;
  const fail = (msg: string): never => {
    throw new UserError(`${file}:${line}: ${msg}`);
  };
  const skipSpace = (newlines: boolean) => {
    for (;;) {
      const c = text[i];
      if (c === ' ' || c === '\t' || c === '\r') i++;
      else if (c === '\n' && newlines) {
        i++;
        line++;
      } else if (c === '#') {
        // Searched, not stepped through: these files are mostly comments, parsed before every push and pull.
        const eol = text.indexOf('\n', i);
        i = eol < 0 ? text.length : eol;
      } else return;
    }
  };
  const endOfLine = () => {
    skipSpace(false);
    if (i < text.length && text[i] !== '\n') fail(`unexpected ${JSON.stringify(text[i])}`);
  };
  const parseString = (): string => {
    const q = text[i];
    if (text.startsWith(q.repeat(3), i)) fail('multi-line strings are not supported');
    i++;
    // Most strings are plain: sliced whole rather than built up a character at a time.
    const close = text.indexOf(q, i);
    if (close >= 0) {
      const plain = text.slice(i, close);
      if (!plain.includes('\n') && (q === "'" || !plain.includes('\\'))) {
        i = close + 1;
        return plain;
      }
    }
    let out = '';
    for (;;) {
      const c = text[i++];
      if (c === undefined || c === '\n') fail('unterminated string');
      if (c === q) return out;
      if (c === '\\' && q === '"') {
        const e = text[i++];
        const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', b: '\b', f: '\f' };
        if (e in map) out += map[e];
        else if (e === 'u' || e === 'U') {
          const n = e === 'u' ? 4 : 8;
          out += String.fromCodePoint(parseInt(text.slice(i, i + n), 16));
          i += n;
        } else fail(`bad escape \\${e}`);
      } else out += c;
    }
  };
  const parseKey = (): string[] => {
    const parts: string[] = [];
    for (;;) {
      skipSpace(false);
      if (text[i] === '"' || text[i] === "'") parts.push(parseString());
      else {
        const m = /^[A-Za-z0-9_-]+/.exec(text.slice(i, i + 200));
        if (!m) fail('expected a key');
        parts.push(m![0]);
        i += m![0].length;
      }
      skipSpace(false);
      if (text[i] !== '.') return parts;
      i++;
    }
  };
  const parseValue = (): TomlValue => {
    skipSpace(false);
    const c = text[i];
    if (c === '"' || c === "'") return parseString();
    if (c === '[') {
      i++;
      const arr: TomlValue[] = [];
      for (;;) {
        skipSpace(true);
        if (text[i] === ']') {
          i++;
          return arr;
        }
        arr.push(parseValue());
        skipSpace(true);
        if (text[i] === ',') i++;
        else if (text[i] !== ']') fail('expected , or ] in array');
      }
    }
    const m = /^(true|false|[+-]?\d[\d_]*)/.exec(text.slice(i, i + 40));
    if (!m) fail(`unsupported value starting with ${JSON.stringify(c ?? 'end of file')}`);
    i += m![0].length;
    if (m![0] === 'true') return true;
    if (m![0] === 'false') return false;
    return Number(m![0].replace(/_/g, ''));
  };
  // Walk a dotted table path; an array of tables on the way means "its last element".
  const descend = (path: string[], arrayOfTables: boolean): TomlTable => {
    let t = root;
    path.forEach((k, n) => {
      const last = n === path.length - 1;
      let v = t[k];
      if (last && arrayOfTables) {
        if (v === undefined) v = t[k] = [];
        if (!Array.isArray(v)) fail(`${path.join('.')} is not an array of tables`);
        const fresh: TomlTable = {};
        (v as TomlValue[]).push(fresh);
        t = fresh;
        return;
      }
      if (v === undefined) v = t[k] = {};
      if (Array.isArray(v)) v = v[v.length - 1];
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${path.join('.')} is not a table`);
      t = v as TomlTable;
    });
    return t;
  };
  for (;;) {
    skipSpace(true);
    if (i >= text.length) return root;
    if (text[i] === '[') {
      const aot = text[i + 1] === '[';
      i += aot ? 2 : 1;
      const path = parseKey();
      if (text.slice(i, i + (aot ? 2 : 1)) !== (aot ? ']]' : ']')) fail('unterminated table header');
      i += aot ? 2 : 1;
      table = descend(path, aot);
      endOfLine();
      continue;
    }
    const key = parseKey();
    if (text[i] !== '=') fail(`expected = after ${key.join('.')}`);
    i++;
    const value = parseValue();
    let t = table;
    for (const k of key.slice(0, -1)) t = (t[k] ??= {}) as TomlTable;
    t[key[key.length - 1]] = value;
    endOfLine();
  }
}
