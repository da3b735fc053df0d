// Builder flags (`--from=x`, `--link`): extraction from the head of an instruction's arguments and
// validation against what each instruction accepts (BuildKit's split_command.go and bflag.go).

import { UserError } from '../../oci/errors.js';
import { isSpace } from './chars.js';
import { suggest } from './suggest.js';
import type { Flag, InstructionKind, Pos } from './types.js';

/**
 * Splits leading `--flag` words off `line`. Quotes inside a flag word are removed and `\` escapes
 * (always backslash: BuildKit does not apply the escape directive here). A bare `--` ends the flags.
 */
export function extractFlags(line: string): { rest: string; words: string[] } {
  const words: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOK = false;
  for (let pos = 0; pos <= line.length; pos++) {
    let ch = pos < line.length ? line[pos]! : '';
    if (phase === 'spaces') {
      if (pos === line.length) break;
      if (isSpace(ch)) continue;
      if (ch !== '-' || line[pos + 1] !== '-') return { rest: line.slice(pos), words };
      phase = 'word';
    }
    if (pos === line.length) {
      if (word !== '--' && (blankOK || word.length > 0)) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'spaces';
        if (word === '--') return { rest: line.slice(pos), words };
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === line.length) continue;
        ch = line[++pos]!;
      }
      word += ch;
      continue;
    }
    // phase === 'quote'
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === '\\') {
      if (pos + 1 === line.length) {
        phase = 'word';
        continue;
      }
      ch = line[++pos]!;
    }
    word += ch;
  }
  return { rest: '', words };
}

type FlagType = 'bool' | 'string' | 'strings';

/** What each instruction accepts. `strings` flags may repeat; others may appear once. */
export const FLAG_SPECS: Partial<Record<InstructionKind, Record<string, FlagType>>> = {
  FROM: { platform: 'string' },
  RUN: { mount: 'strings', network: 'string', security: 'string' },
  COPY: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings' },
  ADD: { chown: 'string', chmod: 'string', link: 'bool', checksum: 'string', 'keep-git-dir': 'bool', exclude: 'strings' },
  HEALTHCHECK: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
};

/** Validates flag words for `kind` and returns them typed. Throws positioned UserErrors. */
export function validateFlags(kind: InstructionKind, words: string[], pos: Pos, firstLine: string): Flag[] {
  const spec = FLAG_SPECS[kind] ?? {};
  const seen = new Set<string>();
  const flags: Flag[] = [];
  for (const w of words) {
    const body = w.slice(2); // extractFlags only yields words starting with "--"
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const value = eq >= 0 ? body.slice(eq + 1) : null;
    // The column lets the CLI put a caret under the offending flag.
    const at = firstLine.indexOf(w);
    const location = { file: pos.file, line: pos.line, ...(at >= 0 ? { column: at + 1 } : {}) };
    const type = spec[name];
    if (!type) {
      const known = Object.keys(spec).map((n) => '--' + n);
      const guess = suggest('--' + name, known);
      throw new UserError(`unknown flag: --${name}`, {
        location,
        hint: guess ? `did you mean ${guess}?` : known.length ? `${kind} accepts ${known.join(', ')}` : `${kind} takes no flags`,
      });
    }
    if (type !== 'strings' && seen.has(name)) throw new UserError(`duplicate flag specified: --${name}`, { location });
    seen.add(name);
    if (type === 'bool') {
      if (value !== null && !['true', 'false'].includes(value.toLowerCase())) {
        throw new UserError(
          value === '' ? `missing a value on flag: --${name}` : `expecting boolean value for flag --${name}, not: ${value}`,
          { location },
        );
      }
    } else if (value === null) {
      throw new UserError(`missing a value on flag: --${name}`, { location, hint: `use --${name}=<value>` });
    }
    const col = firstLine.indexOf('--' + name);
    flags.push({ name, value, pos: col >= 0 ? { ...pos, column: col + 1 } : { ...pos } });
  }
  return flags;
}
