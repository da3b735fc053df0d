// Word expansion with BuildKit's shell.Lex semantics (frontend/dockerfile/shell/lex.go): quotes,
// the configurable escape character, `$v`, `${v}`, `${v:-d}` `${v-d}` `${v:+a}` `${v+a}`
// `${v:?msg}` `${v?msg}`, `${v#p}` `${v##p}` `${v%p}` `${v%%p}`, `${v/p/r}` `${v//p/r}`.
// It is not a shell: no command substitution, no globbing, no arithmetic.

import { UserError, type SourceLocation } from '../../oci/errors.js';
import { isDigit, isLetter, isSpace } from './chars.js';
import { PatternError, shellPatternToRegExp, trimPrefix, trimSuffix } from './pattern.js';

export type Lookup = (name: string) => string | undefined;

export interface LexOptions {
  escape: string;
  /** Keep quote characters in the output (used to detect quoted heredoc delimiters). */
  rawQuotes?: boolean;
  /** Keep escape characters in the output. */
  rawEscapes?: boolean;
  /** Leave references to unset variables as written instead of expanding them to "". */
  skipUnsetEnv?: boolean;
  /** Treat quote characters as ordinary text: no quoting, and they stay in the output (heredoc bodies). */
  skipProcessQuotes?: boolean;
}

export interface LexResult {
  /** ProcessWord: the whole input as one word. */
  word: string;
  /** ProcessWords: split on unquoted whitespace (after expansion). */
  words: string[];
}

/** A syntax or `${v?msg}` error inside a word; callers turn it into a positioned UserError. */
export class LexError extends Error {}

/** Splits into words the way BuildKit does: expanded text splits, quoted or escaped text does not. */
class WordCollector {
  private word = '';
  private inWord = false;
  private readonly words: string[] = [];

  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.word.length !== 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else {
      this.addRawChar(ch);
    }
  }

  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }

  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }

  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }

  finish(): string[] {
    // An empty quoted string ("") marks a word but never yields an empty one, as in BuildKit.
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

class ShellWord {
  private readonly chars: string[];
  private pos = 0;
  private rawEscapes: boolean;

  constructor(
    source: string,
    private readonly lookup: Lookup,
    private readonly opts: LexOptions,
  ) {
    // Iterate by code point, like Go's text/scanner iterates by rune.
    this.chars = Array.from(source);
    this.rawEscapes = opts.rawEscapes ?? false;
  }

  private peek(): string | undefined {
    return this.chars[this.pos];
  }

  private next(): string | undefined {
    return this.chars[this.pos++];
  }

  process(): LexResult {
    const [word, words] = this.processStopOn(undefined, this.rawEscapes);
    return { word, words };
  }

  private processStopOn(stop: string | undefined, rawEscapes: boolean): [string, string[]] {
    let result = '';
    const words = new WordCollector();
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      while (this.peek() !== undefined) {
        const ch = this.peek()!;
        if (stop !== undefined && ch === stop) {
          this.next();
          return [result, words.finish()];
        }
        if (ch === '$') {
          const tmp = this.processDollar();
          result += tmp;
          words.addString(tmp); // expanded text is subject to word splitting
        } else if (ch === "'" && !this.opts.skipProcessQuotes) {
          const tmp = this.processSingleQuote();
          result += tmp;
          words.addRawString(tmp);
        } else if (ch === '"' && !this.opts.skipProcessQuotes) {
          const tmp = this.processDoubleQuote();
          result += tmp;
          words.addRawString(tmp);
        } else {
          let c = this.next()!;
          if (c === this.opts.escape) {
            if (this.rawEscapes) {
              words.addRawChar(c);
              result += c;
            }
            const escaped = this.next();
            if (escaped === undefined) break; // an escape at the very end is dropped
            c = escaped;
            words.addRawChar(c);
          } else {
            words.addChar(c);
          }
          result += c;
        }
      }
      if (stop !== undefined) {
        throw new LexError(`unexpected end of statement while looking for matching ${stop}`);
      }
      return [result, words.finish()];
    } finally {
      this.rawEscapes = saved;
    }
  }

  // Single quotes: everything literal, nothing (not even the escape char) can be escaped.
  private processSingleQuote(): string {
    let result = '';
    const open = this.next()!;
    if (this.opts.rawQuotes) result += open;
    for (;;) {
      const ch = this.next();
      if (ch === undefined) throw new LexError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") {
        if (this.opts.rawQuotes) result += ch;
        return result;
      }
      result += ch;
    }
  }

  // Double quotes: `$` expands; the escape char only escapes `"`, `$` and itself, and is
  // otherwise literal (so "a\tb" keeps its backslash).
  private processDoubleQuote(): string {
    let result = '';
    const open = this.next()!;
    if (this.opts.rawQuotes) result += open;
    for (;;) {
      const p = this.peek();
      if (p === undefined) throw new LexError('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        this.next();
        if (this.opts.rawQuotes) result += p;
        return result;
      }
      if (p === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = this.next()!;
      if (ch === this.opts.escape) {
        if (this.rawEscapes) result += ch;
        const after = this.peek();
        if (after === undefined) continue; // ignored; the loop then reports the missing quote
        if (after === '"' || after === '$' || after === this.opts.escape) ch = this.next()!;
      }
      result += ch;
    }
  }

  private getEnv(name: string): string | undefined {
    return this.lookup(name);
  }

  private processDollar(): string {
    this.next(); // '$'
    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$'; // `$` followed by a non-name character stays literal
      const value = this.getEnv(name);
      if (value === undefined && this.opts.skipUnsetEnv) return '$' + name;
      return value ?? '';
    }

    this.next(); // '{'
    const first = this.peek();
    if (first === undefined) throw new LexError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new LexError('syntax error: bad substitution');

    const name = this.processName();
    let ch = this.next();
    if (ch === undefined) throw new LexError("syntax error: missing '}'");
    let chs = ch;

    if (ch === '}') {
      const value = this.getEnv(name);
      if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}}`;
      return value ?? '';
    }

    if (ch === ':' || ch === '+' || ch === '-' || ch === '?' || ch === '#' || ch === '%') {
      let nullIsUnset = false;
      if (ch === ':') {
        nullIsUnset = true;
        ch = this.next();
        chs += ch ?? '';
      }
      // Pattern operators keep escapes so the pattern can tell `\*` from `*`.
      const raw = ch === '#' || ch === '%';
      let word: string;
      try {
        [word] = this.processStopOn('}', raw);
      } catch (e) {
        if (e instanceof LexError && this.peek() === undefined) throw new LexError("syntax error: missing '}'");
        throw e;
      }
      const value = this.getEnv(name);
      const set = value !== undefined;
      if (!set && this.opts.skipUnsetEnv) return `\${${name}${chs}${word}}`;
      const v = value ?? '';
      switch (ch) {
        case '-':
          return !set || (nullIsUnset && v === '') ? word : v;
        case '+':
          return !set || (nullIsUnset && v === '') ? '' : word;
        case '?':
          if (!set) throw new LexError(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`);
          if (nullIsUnset && v === '') throw new LexError(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`);
          return v;
        case '%':
        case '#': {
          let greedy = false;
          if (word.startsWith(ch)) {
            greedy = true;
            word = word.slice(1);
          }
          try {
            return ch === '%' ? trimSuffix(word, v, greedy) : trimPrefix(word, v, greedy);
          } catch (e) {
            if (e instanceof PatternError) throw new LexError(`invalid pattern (${word}) in substitution: ${e.message}`);
            throw e;
          }
        }
        default:
          throw new LexError(`unsupported modifier (${chs}) in substitution`);
      }
    }

    if (ch === '/') {
      const replaceAll = this.peek() === '/';
      if (replaceAll) this.next();
      let pattern: string;
      let replacement: string;
      try {
        [pattern] = this.processStopOn('/', true);
      } catch (e) {
        if (e instanceof LexError && this.peek() === undefined) throw new LexError("syntax error: missing '/' in ${}");
        throw e;
      }
      try {
        [replacement] = this.processStopOn('}', true);
      } catch (e) {
        if (e instanceof LexError && this.peek() === undefined) throw new LexError("syntax error: missing '}'");
        throw e;
      }
      const value = this.getEnv(name);
      if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}/${pattern}/${replacement}}`;
      let re: RegExp;
      try {
        re = shellPatternToRegExp(pattern, true, false, replaceAll);
      } catch (e) {
        if (e instanceof PatternError) throw new LexError(`invalid pattern (${pattern}) in substitution: ${e.message}`);
        throw e;
      }
      // A function replacer inserts the replacement literally (no `$&` interpretation).
      return (value ?? '').replace(re, () => replacement);
    }

    throw new LexError(`unsupported modifier (${chs}) in substitution`);
  }

  // A name is letters, digits and `_`; a leading digit reads only digits ($1, $10); a special
  // parameter ($@ $* $# $? $- $$ $! $0) is one character.
  private processName(): string {
    let name = '';
    while (this.peek() !== undefined) {
      const ch = this.peek()!;
      if (name === '' && isDigit(ch)) {
        while (this.peek() !== undefined && isDigit(this.peek()!)) name += this.next()!;
        return name;
      }
      if (name === '' && SPECIAL_PARAMS.has(ch)) return this.next()!;
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break;
      name += this.next()!;
    }
    return name;
  }
}

/** The low-level lexer with all of BuildKit's switches; throws LexError. */
export function lex(source: string, lookup: Lookup, opts: LexOptions): LexResult {
  return new ShellWord(source, lookup, opts).process();
}

function run(word: string, lookup: Lookup, escape: string, location?: SourceLocation): LexResult {
  try {
    return lex(word, lookup, { escape });
  } catch (e) {
    if (e instanceof LexError) throw new UserError(`failed to process "${word}": ${e.message}`, { location, cause: e });
    throw e;
  }
}

/**
 * BuildKit's ProcessWord: expands variables and removes quotes, keeping the result as one word.
 * Unset variables expand to "". Errors are UserErrors; pass the instruction's location so the
 * message reads `Containerfile:LINE: ...`.
 */
export function expandWord(word: string, lookup: Lookup, escape = '\\', location?: SourceLocation): string {
  return run(word, lookup, escape, location).word;
}

/** BuildKit's ProcessWords: like expandWord, then split on unquoted whitespace. */
export function expandWords(text: string, lookup: Lookup, escape = '\\', location?: SourceLocation): string[] {
  return run(text, lookup, escape, location).words;
}

/** A Lookup over a plain record or Map (convenience for callers and tests). */
export function lookupFrom(env: Record<string, string> | Map<string, string>): Lookup {
  if (env instanceof Map) return (name) => env.get(name);
  return (name) => (Object.prototype.hasOwnProperty.call(env, name) ? env[name] : undefined);
}
