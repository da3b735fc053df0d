// Ctrl-C / SIGTERM: the first one aborts the running operation so it can clean up (unmount, kill
// the step, drop temp files); a second one exits at once.
const controller = new AbortController();
let installed = false;
let received: 'SIGINT' | 'SIGTERM' | undefined;

export function interruptSignal(): AbortSignal {
  if (!installed) {
    installed = true;
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.on(sig, () => {
        if (controller.signal.aborted) process.exit(sig === 'SIGINT' ? 130 : 143);
        received = sig;
        process.stderr.write(`\n${sig === 'SIGINT' ? 'interrupted' : 'terminated'}: cleaning up (repeat to exit at once)\n`);
        controller.abort();
      });
    }
  }
  return controller.signal;
}

/** The exit status for a command Ctrl-C (130) or SIGTERM (143) stopped; undefined when none did. */
export function interruptedStatus(): number | undefined {
  return received === undefined ? undefined : received === 'SIGINT' ? 130 : 143;
}
