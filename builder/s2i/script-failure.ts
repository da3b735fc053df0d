// A script that fails inside a generated Containerfile (assemble, assemble-runtime) is reported
// with its own exit status, not as a generic build failure (§M; S2I hides it behind "13", §N-3).
import { StepFailedError, UserError } from '../../oci/errors.js';

/** 1-based line of a rendered Containerfile that is exactly `line` (0 when absent). */
export function lineOf(text: string, line: string): number {
  return text.split('\n').findIndex((l) => l === line) + 1;
}

/** A failed RUN at `line` becomes the script's own status; other failures pass through. */
export function scriptFailure(e: unknown, line: number, script: string, image: string): unknown {
  if (!(e instanceof StepFailedError) || e.signal || e.location?.line !== line) return e;
  const status = e.status;
  return new UserError(`${script} script failed: non-zero (${status}) exit code from ${image}`, { exitCode: status, cause: e });
}
