// Recognising heredoc operators (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`) in an instruction line,
// per BuildKit: the line is split into shell words (quotes and escapes kept, variables not
// expanded) and every word that is entirely a heredoc operator opens one heredoc, in order. And
// expanding the body of a COPY/ADD heredoc whose delimiter was not quoted.

import { UserError, type SourceLocation } from '../../oci/errors.js';
import { lex, LexError, type Lookup } from './lexer.js';

const HEREDOC_RE = /^(\d*)<<(-?)([^<]*)$/;
const noVars = () => undefined;

export interface HeredocOperator {
  name: string;
  expand: boolean;
  chomp: boolean;
  fileDescriptor?: number;
}

/**
 * Parses one word as a heredoc operator; null when it is not one. The delimiter is lexed twice,
 * with and without quote removal: if the quote counts differ, part of it was quoted and the body
 * must not be expanded. BuildKit always uses `\` here, whatever the escape directive says.
 */
export function parseHeredocOperator(word: string): HeredocOperator | null {
  const m = HEREDOC_RE.exec(word);
  if (!m) return null;
  const rest = m[3]!;
  if (rest === '') return null;
  let words: string[];
  let rawWords: string[];
  try {
    words = lex(rest, noVars, { escape: '\\', skipUnsetEnv: true }).words;
    rawWords = lex(rest, noVars, { escape: '\\', skipUnsetEnv: true, rawQuotes: true }).words;
  } catch (e) {
    // A word that does not lex (`<<a'b`, `<<${!x}`) is not a heredoc operator, as for whole lines
    // below; letting LexError out made COPY/RUN throw an unpositioned internal error (found by fuzzing).
    if (e instanceof LexError) return null;
    throw e;
  }
  if (words.length !== 1) return null;
  const quotes = (s: string) => (s.match(/['"]/g) ?? []).length;
  const op: HeredocOperator = {
    name: words[0]!,
    expand: quotes(words[0]!) === quotes(rawWords[0] ?? ''),
    chomp: m[2] === '-',
  };
  if (m[1] !== '') op.fileDescriptor = Number.parseInt(m[1]!, 10);
  return op;
}

/** All heredoc operators on a logical line, in order. A line that does not lex has none. */
export function heredocOperatorsInLine(line: string): HeredocOperator[] {
  let words: string[];
  try {
    words = lex(line, noVars, { escape: '\\', rawQuotes: true, rawEscapes: true, skipUnsetEnv: true }).words;
  } catch (e) {
    if (e instanceof LexError) return [];
    throw e;
  }
  const ops: HeredocOperator[] = [];
  for (const w of words) {
    const op = parseHeredocOperator(w);
    if (op) ops.push(op);
  }
  return ops;
}

/** `<<-`: strip leading tabs from every body line. */
export function chompHeredoc(content: string): string {
  return content.replace(/^\t+/gm, '');
}

/**
 * The body of a COPY/ADD heredoc with an unquoted delimiter, expanded as BuildKit does (its
 * SupportsSingleWordExpansionRaw path): the whole body is one word for the lexer with `\` as the
 * escape, whatever the escape directive says, and quotes are plain text since they belong to the
 * file (usually a script). So `$V` and `${V:-x}` expand, `\$V` is a literal `$V`, and, as in
 * BuildKit, any other backslash is an escape too (`\\` gives `\`, `\n` gives `n`). Errors
 * (`${V:?msg}`, a `${` never closed) fail the build, at the instruction's line.
 */
export function expandHeredocBody(name: string, body: string, lookup: Lookup, location?: SourceLocation): string {
  try {
    return lex(body, lookup, { escape: '\\', skipProcessQuotes: true }).word;
  } catch (e) {
    if (e instanceof LexError) throw new UserError(`failed to expand heredoc ${name}: ${e.message}`, { location, cause: e });
    throw e;
  }
}
