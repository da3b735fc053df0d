// Turning any failure into one line on stderr and an exit code. A UserError is the user's to fix;
// anything else is our bug, shown with its stack only under --debug.
import { isUserError } from '../oci/errors.js';

export function reportError(e: unknown, debug: boolean): number {
  if (isUserError(e)) {
    process.stderr.write(`Error: ${e.message}\n`);
    if (e.hint) process.stderr.write(`Hint: ${e.hint}\n`);
    if (debug && e.stack) process.stderr.write(e.stack + '\n');
    return e.exitCode;
  }
  const err = e as { code?: string; message?: string; stack?: string; path?: string };
  // Plain system errors users commonly cause (no permission on the store, disk full) get one line too.
  if (err && typeof err.code === 'string' && ['EACCES', 'EPERM', 'ENOSPC', 'EROFS', 'ENOENT', 'EDQUOT'].includes(err.code)) {
    process.stderr.write(`Error: ${err.message}\n`);
    if (debug && err.stack) process.stderr.write(err.stack + '\n');
    return 1;
  } else {
    process.stderr.write(`Error: internal error: ${err?.message ?? String(e)} (run with --debug for the stack trace)\n`);
  }
  if (debug && err?.stack) process.stderr.write(err.stack + '\n');
  return 125;
}
