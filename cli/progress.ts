// Plain progress for build events: one line per step on stderr, so stdout carries only the image ID.
// When several stages run (possibly at once), every line starts with `[n/N name]` so interleaved
// output stays readable. After each STEP line comes `--> CACHED` or `--> <step>: <why it missed>`.
import type { BuildEvent } from '../builder/events.js';

export interface ProgressOptions {
  quiet: boolean;
  write?: (s: string) => void;
}

/** The instruction cut short for the miss line ("COPY app/ ..."), as the first two words. */
function shortInstruction(text: string): string {
  const words = text.trim().split(/\s+/);
  return words.length > 2 ? `${words.slice(0, 2).join(' ')} ...` : words.join(' ');
}

export function plainProgress(opts: ProgressOptions): (ev: BuildEvent) => void {
  const write = opts.write ?? ((s: string) => process.stderr.write(s));
  let stages = 1;
  const prefixes = new Map<number, string>();
  const instructions = new Map<string, string>();
  const prefix = (stage: number) => prefixes.get(stage) ?? '';
  return (ev) => {
    if (ev.type === 'plan') stages = ev.stages;
    if (opts.quiet && ev.type !== 'warning') return;
    switch (ev.type) {
      case 'step-start': {
        if (stages > 1) prefixes.set(ev.stage, `[${ev.stageOrdinal}/${stages}${ev.stageName ? ' ' + ev.stageName : ''}] `);
        instructions.set(`${ev.stage}/${ev.step}`, ev.instruction);
        write(`${prefix(ev.stage)}STEP ${ev.step}/${ev.steps}: ${ev.instruction}\n`);
        break;
      }
      case 'step-cache': {
        const ins = shortInstruction(instructions.get(`${ev.stage}/${ev.step}`) ?? '');
        write(ev.cached ? `${prefix(ev.stage)}--> CACHED\n` : `${prefix(ev.stage)}--> ${ins}: ${ev.reason ?? 'not in cache'}\n`);
        break;
      }
      case 'output': {
        const p = prefix(ev.stage);
        const text = ev.text.endsWith('\n') ? ev.text : ev.text + '\n';
        write(p ? text.replace(/^(?=.)/gm, p) : text);
        break;
      }
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
