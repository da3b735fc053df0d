// Ctrl-C / SIGTERM: the first one aborts the running operation so it can clean up (unmount, kill
// the step, drop temp files); a second one exits at once.
const controller = new AbortController();
let installed = false;

export function interruptSignal(): AbortSignal {
  if (!installed) {
    installed = true;
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.on(sig, () => {
        if (controller.signal.aborted) process.exit(130);
        process.stderr.write(`\n${sig === 'SIGINT' ? 'interrupted' : 'terminated'}: cleaning up (repeat to exit at once)\n`);
        controller.abort();
      });
    }
  }
  return controller.signal;
}

/** Whether Ctrl-C / SIGTERM has stopped the command: whatever it then fails with, it was interrupted. */
export function wasInterrupted(): boolean {
  return controller.signal.aborted;
}
