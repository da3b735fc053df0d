// Turning any failure into one line on stderr and an exit code. A UserError is the user's to fix;
// anything else is our bug, shown with its stack only under --debug.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { isUserError, type SourceLocation } from '../oci/errors.js';

/**
 * Where the file a UserError's location names lives on disk. The library names the Containerfile
 * as the user gave it (`-f` verbatim, else relative to the context), so `build` tells us the context.
 */
let sourceBase: string | undefined;
export function setSourceBase(context: string): void {
  sourceBase = context;
}

/** A Containerfile that is no file on disk (`build -f -`), by the name messages give it. */
const sourceTexts = new Map<string, string>();
export function setSourceText(file: string, text: string): void {
  sourceTexts.set(file, text);
}

/** The text of the Containerfile a location names: given (stdin), or read from disk. */
function sourceOf(file: string): string | undefined {
  const given = sourceTexts.get(file);
  if (given !== undefined) return given;
  for (const p of [isAbsolute(file) ? file : resolve(sourceBase ?? '.', file), resolve(file)]) {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      /* try the next place */
    }
  }
  return undefined;
}

/**
 * The offending Containerfile line with a caret under the word the parser pointed at, as compilers
 * print it. Empty when the file cannot be read (ONBUILD triggers from an image) or when no column
 * is known: then the `file:line:` prefix of the message is all there is.
 */
export function sourceExcerpt(loc: SourceLocation): string {
  if (loc.column === undefined || loc.line < 1) return '';
  const text = sourceOf(loc.file);
  if (text === undefined) return '';
  const line = text.split(/\r?\n/)[loc.line - 1];
  if (line === undefined) return '';
  const shown = oneLine(line.replace(/\t/g, ' '));
  const gutter = `${loc.line} | `;
  // The caret goes under the column in the shown text (tabs became one space each, so columns hold).
  return `${gutter}${shown}\n${' '.repeat(gutter.length + Math.max(0, loc.column - 1))}^\n`;
}

/**
 * Messages quote user input (Containerfile words, heredoc names, paths), which may hold newlines,
 * carriage returns or terminal escape sequences: shown raw they would break the one-line contract
 * and let a hostile Containerfile rewrite a CI log. Control characters are shown escaped instead.
 */
export function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x08\x0a-\x1f\x7f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

export function reportError(e: unknown, debug: boolean): number {
  if (isUserError(e)) {
    process.stderr.write(`Error: ${oneLine(e.message)}\n`);
    if (e.location) process.stderr.write(sourceExcerpt(e.location));
    if (e.hint) process.stderr.write(`Hint: ${oneLine(e.hint)}\n`);
    if (debug && e.stack) process.stderr.write(e.stack + '\n');
    return e.exitCode;
  }
  const err = e as { code?: string; message?: string; stack?: string; path?: string };
  // Plain system errors users commonly cause (no permission on the store, disk full) get one line too.
  if (err && typeof err.code === 'string' && ['EACCES', 'EPERM', 'ENOSPC', 'EROFS', 'ENOENT', 'EDQUOT', 'ENOTDIR', 'ERR_TSBUILD_NATIVE_MISSING'].includes(err.code)) {
    process.stderr.write(`Error: ${oneLine(err.message ?? '')}\n`);
    if (debug && err.stack) process.stderr.write(err.stack + '\n');
    return 1;
  } else {
    process.stderr.write(`Error: internal error: ${oneLine(err?.message ?? String(e))} (run with --debug for the stack trace)\n`);
  }
  if (debug && err?.stack) process.stderr.write(err.stack + '\n');
  return 125;
}
