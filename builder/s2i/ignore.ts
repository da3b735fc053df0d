// `.s2iignore` (§B-9): shell-style globs joined to the source root (`*` and `?` never cross `/`,
// no `**`, not recursive), `!rule` un-ignores what earlier rules collected, matches are deleted.
import { lstat, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** One glob path segment as a regex (Go filepath.Match semantics: dot files are not special). */
export function segmentRegex(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < seg.length) re += escapeRe(seg[++i]!);
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let body = seg.slice(i + 1, end);
        if (body.startsWith('!') || body.startsWith('^')) body = '^' + body.slice(1);
        re += '[' + body.replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else re += escapeRe(c);
  }
  return new RegExp('^' + re + '$');
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Relative paths under `root` that a glob matches, expanding one segment at a time. */
export async function globRelative(root: string, pattern: string): Promise<string[]> {
  const segs = pattern.split('/').filter((s) => s !== '' && s !== '.');
  let current = [''];
  for (const seg of segs) {
    const next: string[] = [];
    const literal = !/[*?[\\]/.test(seg);
    for (const base of current) {
      if (literal) {
        const rel = base ? `${base}/${seg}` : seg;
        if (await exists(join(root, rel))) next.push(rel);
        continue;
      }
      let names: string[];
      try {
        names = await readdir(join(root, base));
      } catch {
        continue;
      }
      const re = segmentRegex(seg);
      for (const n of names.sort()) if (re.test(n)) next.push(base ? `${base}/${n}` : n);
    }
    current = next;
  }
  return segs.length === 0 ? [] : current;
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** The rules of a `.s2iignore` text, in order. */
export function parseIgnoreRules(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Apply `.s2iignore` in `root` (if present): deletes the matches, returns them (relative paths). */
export async function applyS2iIgnore(root: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(join(root, '.s2iignore'), 'utf8');
  } catch {
    return [];
  }
  const ignored = new Set<string>();
  for (const rule of parseIgnoreRules(text)) {
    if (rule.startsWith('!')) {
      const re = pathRegex(rule.slice(1));
      for (const p of [...ignored]) if (re.test(p)) ignored.delete(p);
    } else {
      for (const p of await globRelative(root, rule)) if (p !== '.s2iignore') ignored.add(p);
    }
  }
  for (const p of ignored) await rm(join(root, p), { recursive: true, force: true });
  return [...ignored].sort();
}

function pathRegex(pattern: string): RegExp {
  const segs = pattern.split('/').filter((s) => s !== '' && s !== '.');
  return new RegExp('^' + segs.map((s) => segmentRegex(s).source.slice(1, -1)).join('/') + '$');
}
