// Shared bits of the build-cache integration tests: parse which steps hit and which missed (and
// why) from the CLI's progress lines, and read an image's layers.
import { tsbuildOk, lastLine } from '../helpers/cli.js';

export interface StepOutcome {
  /** `[n/N name] ` prefix when several stages run, else ''. */
  stage: string;
  step: number;
  instruction: string;
  cached: boolean;
  reason?: string;
}

/** Steps from the progress on stderr (FROM lines carry no cache verdict and are left out). */
export function outcomes(stderr: string): StepOutcome[] {
  const out: StepOutcome[] = [];
  const open = new Map<string, StepOutcome>();
  for (const line of stderr.split('\n')) {
    const step = /^(\[[^\]]*\] )?STEP (\d+)\/\d+: (.*)$/.exec(line);
    if (step) {
      open.set(step[1] ?? '', { stage: step[1] ?? '', step: Number(step[2]), instruction: step[3]!, cached: false });
      continue;
    }
    const verdict = /^(\[[^\]]*\] )?--> (.*)$/.exec(line);
    if (verdict) {
      const o = open.get(verdict[1] ?? '');
      if (!o) continue;
      open.delete(verdict[1] ?? '');
      if (verdict[2] === 'CACHED') o.cached = true;
      else o.reason = verdict[2]!.replace(/^.*?: /, '');
      out.push(o);
    }
  }
  return out;
}

/** "hit"/"miss" per step number, for compact assertions: { 2: 'hit', 3: 'miss', ... }. */
export function verdicts(stderr: string): Record<number, 'hit' | 'miss'> {
  const v: Record<number, 'hit' | 'miss'> = {};
  for (const o of outcomes(stderr)) v[o.step] = o.cached ? 'hit' : 'miss';
  return v;
}

export function build(root: string, args: string[]): { id: string; stderr: string } {
  const r = tsbuildOk(['build', '--root', root, ...args]);
  return { id: lastLine(r.stdout), stderr: r.stderr };
}

export function diffIds(root: string, image: string): string[] {
  const r = tsbuildOk(['inspect', '--root', root, image]);
  return (JSON.parse(r.stdout) as { RootFS: { diff_ids: string[] } }).RootFS.diff_ids;
}
