// Parser directives (`# escape=`, `# syntax=`, `# check=`): only recognised at the very top, before
// any instruction, other comment or blank line; each at most once (BuildKit parser.go rules).

import { UserError } from '../../oci/errors.js';
import type { Directives } from './types.js';

const DIRECTIVE_RE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN = new Set(['escape', 'syntax', 'check']);

export class DirectiveState {
  readonly values: Directives = { escape: '\\' };
  private done = false;
  private readonly seen = new Set<string>();

  /** Feeds one physical line (left-trimmed, newline removed). Stops looking at the first non-directive. */
  consider(line: string, file: string, lineNo: number): void {
    if (this.done) return;
    const m = DIRECTIVE_RE.exec(line);
    const key = m?.[1]?.toLowerCase();
    if (!m || !key || !KNOWN.has(key)) {
      // An unknown `# foo=bar` is an ordinary comment and, like any comment, ends the directives.
      this.done = true;
      return;
    }
    const value = m[2]!;
    if (this.seen.has(key)) {
      throw new UserError(`only one ${key} parser directive can be used`, { location: { file, line: lineNo } });
    }
    this.seen.add(key);
    if (key === 'escape') {
      if (value !== '`' && value !== '\\') {
        throw new UserError(`invalid escape token '${value}' does not match \` or \\`, { location: { file, line: lineNo } });
      }
      this.values.escape = value;
    } else if (key === 'syntax') {
      this.values.syntax = value; // accepted and recorded; tsbuild has one built-in front end
    } else {
      this.values.check = value;
    }
  }
}
