// Plain progress for build events: one line per step on stderr, so stdout carries only the image ID.
import type { BuildEvent } from '../builder/events.js';

export interface ProgressOptions {
  quiet: boolean;
  write?: (s: string) => void;
}

export function plainProgress(opts: ProgressOptions): (ev: BuildEvent) => void {
  const write = opts.write ?? ((s: string) => process.stderr.write(s));
  let stages = 1;
  return (ev) => {
    if (ev.type === 'plan') stages = ev.stages;
    if (opts.quiet && ev.type !== 'warning') return;
    switch (ev.type) {
      case 'step-start': {
        const prefix = stages > 1 ? `[${ev.stageOrdinal}/${stages}] ` : '';
        write(`${prefix}STEP ${ev.step}/${ev.steps}: ${ev.instruction}\n`);
        break;
      }
      case 'output':
        write(ev.text.endsWith('\n') ? ev.text : ev.text + '\n');
        break;
      case 'warning':
        write(`WARN: ${ev.message}\n`);
        break;
      case 'image':
        if (ev.names.length > 0) write(`COMMIT ${ev.names.join(', ')}\n`);
        break;
      default:
        break;
    }
  };
}
