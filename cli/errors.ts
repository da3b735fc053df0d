// Turning any failure into one line on stderr and an exit code. A UserError is the user's to fix;
// anything else is our bug, shown with its stack only under --debug.
import { isUserError } from '../oci/errors.js';

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
    if (e.hint) process.stderr.write(`Hint: ${oneLine(e.hint)}\n`);
    if (debug && e.stack) process.stderr.write(e.stack + '\n');
    return e.exitCode;
  }
  const err = e as { code?: string; message?: string; stack?: string; path?: string };
  // Plain system errors users commonly cause (no permission on the store, disk full) get one line too.
  if (err && typeof err.code === 'string' && ['EACCES', 'EPERM', 'ENOSPC', 'EROFS', 'ENOENT', 'EDQUOT'].includes(err.code)) {
    process.stderr.write(`Error: ${oneLine(err.message ?? '')}\n`);
    if (debug && err.stack) process.stderr.write(err.stack + '\n');
    return 1;
  } else {
    process.stderr.write(`Error: internal error: ${oneLine(err?.message ?? String(e))} (run with --debug for the stack trace)\n`);
  }
  if (debug && err?.stack) process.stderr.write(err.stack + '\n');
  return 125;
}
