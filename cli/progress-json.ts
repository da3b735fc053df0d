// --progress=json: every event as one JSON object per line, for CI tools. The objects are the
// library's BuildEvent/TransferEvent shapes (builder/events.ts) plus `time` (ISO 8601). Two kinds
// exist only here: `message` (a status line such as "Pushed NAME@DIGEST") and, last when the
// command fails, `error` with the one-line message the CLI also prints.
import type { ProgressEvent } from '../builder/events.js';
import { isUserError } from '../oci/errors.js';
import type { Progress } from './progress.js';

export function jsonProgress(write: (s: string) => void): Progress {
  const out = (obj: Record<string, unknown>) => write(JSON.stringify({ ...obj, time: new Date().toISOString() }) + '\n');
  return {
    event: (ev: ProgressEvent) => out(ev),
    message: (text) => out({ type: 'message', text }),
    close: (e) => {
      if (e === undefined) return;
      if (isUserError(e)) out({ type: 'error', message: e.message, ...(e.location ? { location: e.location } : {}), ...(e.hint ? { hint: e.hint } : {}) });
      else out({ type: 'error', message: `internal error: ${(e as Error)?.message ?? String(e)}` });
    },
  };
}
