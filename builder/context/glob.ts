// Go's path/filepath.Match, ported rune for rune. Docker validates ignore patterns with it and
// BuildKit expands COPY wildcards with it; minimatch differs (brace expansion, extglobs, leading-'!'
// negation, dotfile rules), so we cannot use it for Docker-compatible behaviour.

export class BadPatternError extends Error {
  constructor(pattern: string) {
    super(`syntax error in pattern: ${JSON.stringify(pattern)}`);
    this.name = 'BadPatternError';
  }
}

type Runes = string[];

/** Reports whether `name` matches the shell pattern (`*`, `?`, `[...]`, `\` escapes; none cross '/').
 * Throws BadPatternError for a malformed pattern, even when the name would not have matched. */
export function goMatch(pattern: string, name: string): boolean {
  let pat: Runes = Array.from(pattern);
  let s: Runes = Array.from(name);
  outer: while (pat.length > 0) {
    const { star, chunk, rest } = scanChunk(pat);
    pat = rest;
    if (star && chunk.length === 0) return !s.includes('/');
    const r = matchChunk(chunk, s, pattern);
    if (r.ok && (r.rest.length === 0 || pat.length > 0)) {
      s = r.rest;
      continue;
    }
    if (star) {
      for (let i = 0; i < s.length && s[i] !== '/'; i++) {
        const t = matchChunk(chunk, s.slice(i + 1), pattern);
        if (t.ok) {
          if (pat.length === 0 && t.rest.length > 0) continue;
          s = t.rest;
          continue outer;
        }
      }
    }
    // Before answering "no", make sure the rest of the pattern is well-formed (Go does too).
    while (pat.length > 0) {
      const c = scanChunk(pat);
      pat = c.rest;
      matchChunk(c.chunk, [], pattern);
    }
    return false;
  }
  return s.length === 0;
}

/** Throws BadPatternError if Go's filepath.Match would reject the pattern. */
export function checkPattern(pattern: string): void {
  goMatch(pattern, '.');
}

/** True when a path component contains an unescaped wildcard (fsutil's containsWildcards). */
export function hasWildcard(p: string): boolean {
  for (let i = 0; i < p.length; i++) {
    const ch = p[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}

function scanChunk(pattern: Runes): { star: boolean; chunk: Runes; rest: Runes } {
  let star = false;
  let p = pattern;
  while (p.length > 0 && p[0] === '*') {
    p = p.slice(1);
    star = true;
  }
  let inrange = false;
  let i = 0;
  scan: for (; i < p.length; i++) {
    switch (p[i]) {
      case '\\':
        if (i + 1 < p.length) i++;
        break;
      case '[':
        inrange = true;
        break;
      case ']':
        inrange = false;
        break;
      case '*':
        if (!inrange) break scan;
        break;
    }
  }
  return { star, chunk: p.slice(0, i), rest: p.slice(i) };
}

function getEsc(chunk: Runes, whole: string): { r: number; rest: Runes } {
  if (chunk.length === 0 || chunk[0] === '-' || chunk[0] === ']') throw new BadPatternError(whole);
  let c = chunk;
  if (c[0] === '\\') {
    c = c.slice(1);
    if (c.length === 0) throw new BadPatternError(whole);
  }
  const r = c[0].codePointAt(0)!;
  const rest = c.slice(1);
  if (rest.length === 0) throw new BadPatternError(whole);
  return { r, rest };
}

function matchChunk(chunkIn: Runes, sIn: Runes, whole: string): { rest: Runes; ok: boolean } {
  let chunk = chunkIn;
  let s = sIn;
  let failed = false;
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    const c = chunk[0];
    if (c === '[') {
      let r = 0;
      if (!failed) {
        r = s[0].codePointAt(0)!;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
      let negated = false;
      if (chunk.length > 0 && chunk[0] === '^') {
        negated = true;
        chunk = chunk.slice(1);
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (chunk.length > 0 && chunk[0] === ']' && nrange > 0) {
          chunk = chunk.slice(1);
          break;
        }
        const lo = getEsc(chunk, whole);
        chunk = lo.rest;
        let hi = lo.r;
        if (chunk[0] === '-') {
          const h = getEsc(chunk.slice(1), whole);
          chunk = h.rest;
          hi = h.r;
        }
        if (lo.r <= r && r <= hi) match = true;
        nrange++;
      }
      if (match === negated) failed = true;
    } else if (c === '?') {
      if (!failed) {
        if (s[0] === '/') failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    } else {
      if (c === '\\') {
        chunk = chunk.slice(1);
        if (chunk.length === 0) throw new BadPatternError(whole);
      }
      if (!failed) {
        if (chunk[0] !== s[0]) failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    }
  }
  if (failed) return { rest: [], ok: false };
  return { rest: s, ok: true };
}
