// One Docker ignore pattern, compiled the way moby/patternmatcher compiles it: exact, prefix
// ("dir/**"), suffix ("**/name") or a regular expression in which '*' and '?' stop at '/', and '**'
// spans any number of directories (including none).

import { BadPatternError, checkPattern } from './glob.js';
import { cleanPath } from './paths.js';

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

// Regexp metacharacters that mean nothing to filepath.Match and must match literally.
const ESCAPE = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);

export class Pattern {
  readonly exclusion: boolean;
  /** The cleaned pattern text, without the leading '!'. */
  readonly cleaned: string;
  readonly dirs: string[];
  private readonly type: MatchType;
  private readonly re?: RegExp;

  constructor(raw: string) {
    let p = cleanPath(raw.trim());
    this.exclusion = p.startsWith('!');
    if (this.exclusion) {
      if (p.length === 1) throw new BadPatternError('!');
      p = p.slice(1);
    }
    checkPattern(p);
    this.cleaned = p;
    this.dirs = p.split('/');
    const { type, source } = compile(p);
    this.type = type;
    if (type === 'regexp') {
      try {
        this.re = new RegExp(source, 'u');
      } catch {
        throw new BadPatternError(p);
      }
    }
  }

  matches(path: string): boolean {
    const p = this.cleaned;
    switch (this.type) {
      case 'exact':
        return path === p;
      case 'prefix':
        return path.startsWith(p.slice(0, -2));
      case 'suffix': {
        const suffix = p.slice(2);
        if (path.endsWith(suffix)) return true;
        return suffix.startsWith('/') && path === suffix.slice(1);
      }
      case 'regexp':
        return this.re!.test(path);
    }
  }

  toString(): string {
    return this.cleaned;
  }
}

function literal(ch: string): string {
  return `\\u{${ch.codePointAt(0)!.toString(16)}}`;
}

/** Translate to a JS regexp (with the 'u' flag). Differences from Docker's Go regexp are confined
 * to escaping: escaped characters are emitted as \u{..} so `\b` means a literal 'b' (as in
 * filepath.Match) rather than a word boundary, and a lone ']' or '^' outside a class is literal. */
function compile(pattern: string): { type: MatchType; source: string } {
  const chars = Array.from(pattern);
  let re = '^';
  let type: MatchType = 'exact';
  let inClass = false;
  for (let i = 0, iter = 0; i < chars.length; i++, iter++) {
    const ch = chars[i];
    if (ch === '*' && !inClass) {
      if (chars[i + 1] === '*') {
        i++;
        if (chars[i + 1] === '/') i++; // treat "**/" as "**"
        if (i + 1 >= chars.length) {
          // trailing "**": like .gitignore, accept everything below
          if (type === 'exact') type = 'prefix';
          else {
            re += '.*';
            type = 'regexp';
          }
        } else {
          re += '(.*/)?';
          type = 'regexp';
        }
        if (iter === 0) type = 'suffix';
      } else {
        re += '[^/]*';
        type = 'regexp';
      }
    } else if (ch === '?' && !inClass) {
      re += '[^/]';
      type = 'regexp';
    } else if (ESCAPE.has(ch)) {
      re += '\\' + ch;
    } else if (ch === '\\') {
      if (i + 1 < chars.length) {
        re += literal(chars[++i]);
        type = 'regexp';
      } else re += '\\\\';
    } else if (ch === '[' && !inClass) {
      inClass = true;
      re += '[';
      if (chars[i + 1] === '^') re += chars[++i];
      type = 'regexp';
    } else if (ch === ']' && inClass) {
      inClass = false;
      re += ']';
      type = 'regexp';
    } else if (!inClass && (ch === ']' || ch === '^' || ch === '[')) {
      re += '\\' + ch;
      type = 'regexp';
    } else if (inClass && ch === '[') {
      re += '\\[';
    } else {
      re += ch;
    }
  }
  return { type, source: re + '$' };
}
