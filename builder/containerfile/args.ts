// Argument shapes shared by several instructions: JSON (exec) arrays, whitespace lists, and the
// quote-preserving word split used by ENV, LABEL and ARG (BuildKit line_parsers.go).

import { isSpace, trimLeftSpace } from './chars.js';

/** BuildKit's `[\t\v\f\r ]+`: note that newline is not in it (lines are already joined). */
export const WHITESPACE_RE = /[\t\v\f\r ]+/;

export class NotStringArrayError extends Error {
  constructor() {
    super('when using JSON array syntax, arrays must be comprised of strings only');
  }
}

/**
 * The JSON (exec) form: `["a", "b"]`. Returns undefined when the text is not a JSON array (the
 * caller falls back to shell form, Docker's rule); throws NotStringArrayError for `[1, 2]`.
 */
export function parseJSONArray(rest: string): string[] | undefined {
  const t = trimLeftSpace(rest);
  if (!t.startsWith('[')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v)) return undefined;
  if (v.some((x) => typeof x !== 'string')) throw new NotStringArrayError();
  return v as string[];
}

/** Splits on whitespace runs; "" gives []. No quote handling (COPY/ADD/EXPOSE/FROM shell form). */
export function splitWhitespace(rest: string): string[] {
  if (rest === '') return [];
  return rest.split(WHITESPACE_RE); // callers pass trimmed text, so there are no empty ends
}

/**
 * Splits into words on unquoted whitespace but keeps quotes and escapes in the words: they are
 * removed later, by expansion. `escape` is the directive's escape character.
 */
export function parseWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  const chars = Array.from(rest);
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOK = false;
  let word = '';
  for (let pos = 0; pos <= chars.length; pos++) {
    let ch = chars[pos] ?? '';
    if (phase === 'spaces') {
      if (pos === chars.length) break;
      if (isSpace(ch)) continue;
      phase = 'word';
    }
    if (pos === chars.length) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'spaces';
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      }
      if (ch === escape) {
        if (pos + 1 === chars.length) continue; // an escape at the end is dropped
        word += ch;
        ch = chars[++pos]!;
      }
      word += ch;
      continue;
    }
    // phase === 'quote'
    if (ch === quote) phase = 'word';
    if (ch === escape && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      word += ch;
      ch = chars[++pos]!;
    }
    word += ch;
  }
  return words;
}
