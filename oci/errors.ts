// Errors a user can cause. The CLI prints `message` as one line and exits non-zero; anything that
// is not a UserError is a bug and shows its stack only with --debug.

export interface SourceLocation {
  file: string;
  line: number;
  /** 1-based column of the offending word, when known (for a caret under it). */
  column?: number;
}

export class UserError extends Error {
  readonly location?: SourceLocation;
  /** Suggested fix, printed after the message ("did you mean RUN?"). */
  readonly hint?: string;
  /** Process exit code the CLI should use (default 1). */
  readonly exitCode: number;

  constructor(message: string, opts: { location?: SourceLocation; hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(opts.location ? `${opts.location.file}:${opts.location.line}: ${message}` : message, { cause: opts.cause });
    this.name = 'UserError';
    this.location = opts.location;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? 1;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

/**
 * Run `work`; when `signal` has aborted, whatever it failed with (a cut download, a killed step, a
 * half-written layer) is reported as what it is: one UserError `message`, exit code 130.
 */
export async function interruptible<T>(signal: AbortSignal | undefined, message: string, work: () => Promise<T>): Promise<T> {
  try {
    signal?.throwIfAborted();
    return await work();
  } catch (e) {
    if (signal?.aborted && !(isUserError(e) && e.exitCode === 130)) throw new UserError(message, { exitCode: 130, cause: e });
    throw e;
  }
}

/**
 * Run `work` for the instruction `verb` at `location`: a UserError from deep below that cannot know
 * the instruction (a symlink loop in the context, a file name no layer can hold) is reported as
 * "`verb` failed: ..." at that line, so the user sees which one (found by the hostile-context tests:
 * `COPY etc/shadow` with etc -> /etc printed no line).
 */
export async function located<T>(verb: string, location: SourceLocation, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (e) {
    if (e instanceof UserError && !e.location) throw new UserError(`${verb} failed: ${e.message}`, { location, hint: e.hint, exitCode: e.exitCode, cause: e });
    throw e;
  }
}

/**
 * A RUN step's command failed: carries the command's own exit status, which is also the build's (as
 * `buildah bud` and the classic `docker build` exit, so a CI script can tell `exit 3` from a broken
 * builder). A command killed by a signal gives 1: 128+n would read as the builder itself interrupted.
 */
export class StepFailedError extends UserError {
  readonly status: number;
  readonly signal?: string;

  constructor(message: string, opts: { status: number; signal?: string; location?: SourceLocation }) {
    super(message, { location: opts.location, exitCode: opts.signal || !(opts.status >= 1 && opts.status <= 255) ? 1 : opts.status });
    this.name = 'StepFailedError';
    this.status = opts.status;
    this.signal = opts.signal;
  }
}
