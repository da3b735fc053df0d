// Splits Containerfile text into logical instruction lines, following BuildKit's parser.go:
// comments and blank lines between instructions are skipped; a line ending in the escape char
// continues onto the next; inside a continuation, comment lines and empty lines are skipped
// (Docker warns about the latter but accepts it); heredoc bodies are read on request, after the
// instruction head has shown which heredocs it opens.
//
// Why not dockerfile-ast for this: it is an editor-oriented, error-tolerant parser. It reports no
// error for an unterminated heredoc, does not tell quoted (`<<"EOF"`) from unquoted delimiters nor
// strip `<<-` tabs, mixes heredoc bodies into the argument list, and keeps empty continuation
// lines. Matching BuildKit exactly is simpler with this ~100-line scanner than by correcting its
// output after the fact.

import { trimLeftSpace } from './chars.js';
import { DirectiveState } from './directives.js';

export interface LogicalLine {
  /** Continuations joined, comment lines dropped, leading whitespace of the first line removed. */
  text: string;
  startLine: number;
  endLine: number;
  /** 1-based column of the first non-blank character of the first line. */
  column: number;
}

export interface HeredocBody {
  content: string;
  terminated: boolean;
}

const BOM = '\ufeff';

function trimNewline(s: string): string {
  return s.replace(/[\r\n]+$/, '');
}

function isComment(raw: string): boolean {
  return trimLeftSpace(trimNewline(raw)).startsWith('#');
}

export class Scanner {
  /** Physical lines, each keeping its line ending (heredoc bodies need it). */
  private readonly lines: string[];
  private next = 0;
  readonly directives = new DirectiveState();
  private continuationRe!: RegExp;

  constructor(
    text: string,
    private readonly file: string,
  ) {
    this.lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
    if (this.lines.length > 0 && this.lines[0]!.startsWith(BOM)) this.lines[0] = this.lines[0]!.slice(BOM.length);
    this.setEscape('\\');
  }

  private setEscape(esc: string): void {
    const e = esc === '`' ? '`' : '\\\\';
    // The escape char is a continuation when it is the last non-blank character, unless it is
    // itself escaped; the second branch handles an escape char alone on its line.
    this.continuationRe = new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
  }

  get lineCount(): number {
    return this.lines.length;
  }

  /** The verbatim text of lines [start, end] (1-based, inclusive), final newline removed. */
  source(start: number, end: number): string {
    return trimNewline(this.lines.slice(start - 1, end).join(''));
  }

  private processLine(raw: string, stripLeft: boolean): string {
    let token = trimNewline(raw);
    if (stripLeft) token = trimLeftSpace(token);
    this.directives.consider(token, this.file, this.next);
    if (this.directives.values.escape === '`') this.setEscape('`');
    return token.startsWith('#') ? '' : token;
  }

  private trimContinuation(line: string): [string, boolean] {
    if (this.continuationRe.test(line)) return [line.replace(this.continuationRe, '$1'), false];
    return [line, true];
  }

  /** The next instruction's logical line, or null at end of input. */
  nextLogicalLine(): LogicalLine | null {
    while (this.next < this.lines.length) {
      const raw = this.lines[this.next++]!;
      const column = trimNewline(raw).length - trimLeftSpace(trimNewline(raw)).length + 1;
      const first = this.processLine(raw, true);
      const startLine = this.next;
      let [line, isEnd] = this.trimContinuation(first);
      if (isEnd && line === '') continue;
      while (!isEnd && this.next < this.lines.length) {
        const rawCont = this.lines[this.next++]!;
        const cont = this.processLine(rawCont, false);
        if (isComment(rawCont)) continue;
        if (trimLeftSpace(cont) === '') continue;
        let piece: string;
        [piece, isEnd] = this.trimContinuation(cont);
        line += piece;
      }
      return { text: line, startLine, endLine: this.next, column };
    }
    return null;
  }

  /** Reads a heredoc body up to its terminator line. Body lines are taken verbatim. */
  readHeredoc(name: string, chomp: boolean): HeredocBody {
    let content = '';
    while (this.next < this.lines.length) {
      const raw = this.lines[this.next++]!;
      let candidate = trimNewline(raw);
      if (chomp) candidate = candidate.replace(/^\t+/, '');
      if (candidate === name) return { content, terminated: true };
      content += raw;
    }
    return { content, terminated: false };
  }

  /** 1-based number of the last line consumed. */
  get currentLine(): number {
    return this.next;
  }
}
