// Splits a parsed Containerfile into stages, resolves which stages the target needs, and
// orders them so every stage comes after the stages it depends on.
import { UserError } from '../../oci/errors.js';
import type { Instruction, ParsedContainerfile } from '../containerfile/index.js';
import { expandWord } from '../containerfile/index.js';

export type FromInstruction = Extract<Instruction, { kind: 'FROM' }>;
export type ArgInstruction = Extract<Instruction, { kind: 'ARG' }>;

export interface Stage {
  index: number;
  /** Lower-cased alias from `FROM x AS name`. */
  name?: string;
  from: FromInstruction;
  /** The base after expanding global ARGs: `scratch`, another stage, or an image reference. */
  base: { kind: 'scratch' } | { kind: 'stage'; stage: number } | { kind: 'image'; ref: string };
  platform?: string;
  instructions: Instruction[];
  /** Stages this one needs (FROM, COPY --from, RUN --mount from=). */
  dependsOn: number[];
  /** Images (not stages) named by COPY --from / RUN --mount from=, which must be available. */
  imageDeps: string[];
}

export interface StagePlan {
  file: string;
  escape: string;
  globalArgs: ArgInstruction[];
  stages: Stage[];
  target: Stage;
  /** Stage indices the target needs, dependencies first. */
  order: number[];
}

function lookupIn(...maps: Map<string, string>[]) {
  return (name: string) => {
    for (const m of maps) if (m.has(name)) return m.get(name);
    return undefined;
  };
}

/** Value of `--name=` among an instruction's flags. */
export function flagValue(ins: Instruction, name: string): string | undefined {
  const f = ins.flags.find((x) => x.name === name);
  return f ? (f.value ?? '') : undefined;
}

/** `from=` key of every `--mount` flag of a RUN (cache/bind mounts may read from a stage or image). */
function mountFromValues(ins: Instruction): string[] {
  const out: string[] = [];
  for (const f of ins.flags) {
    if (f.name !== 'mount' || !f.value) continue;
    for (const part of f.value.split(',')) {
      const [k, v] = part.split('=', 2);
      if (k.trim() === 'from' && v) out.push(v.trim());
    }
  }
  return out;
}

export interface PlanOptions {
  target?: string;
  /** Values visible to FROM lines: build args overriding global ARG defaults, plus platform args. */
  globalScope: (declared: ArgInstruction[]) => Map<string, string>;
}

export function planStages(parsed: ParsedContainerfile, opts: PlanOptions): StagePlan {
  const globalArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  let current: Stage | undefined;
  for (const ins of parsed.instructions) {
    if (ins.kind === 'FROM') {
      current = {
        index: stages.length,
        name: ins.alias?.toLowerCase(),
        from: ins,
        base: { kind: 'scratch' },
        platform: flagValue(ins, 'platform'),
        instructions: [],
        dependsOn: [],
        imageDeps: [],
      };
      stages.push(current);
    } else if (!current) {
      if (ins.kind !== 'ARG') {
        throw new UserError(`${ins.kind} must come after FROM: only ARG may precede the first FROM`, { location: ins.pos });
      }
      globalArgs.push(ins);
    } else {
      current.instructions.push(ins);
    }
  }
  if (stages.length === 0) throw new UserError('no FROM instruction: a Containerfile must start a stage with FROM', { location: { file: parsed.file, line: 1 } });

  const scope = opts.globalScope(globalArgs);
  const lookup = lookupIn(scope);
  const byName = new Map<string, number>();
  for (const s of stages) {
    if (s.name) {
      if (byName.has(s.name)) throw new UserError(`duplicate stage name "${s.name}"`, { location: s.from.pos });
      if (!/^[a-z][a-z0-9-_.]*$/.test(s.name)) throw new UserError(`invalid stage name "${s.name}": must start with a letter and contain only letters, digits, '-', '_' and '.'`, { location: s.from.pos });
    }
    // Resolve the base against stages defined *before* this one (Docker's rule).
    const image = expandWord(s.from.image, lookup, parsed.directives.escape, s.from.pos);
    if (image === '') throw new UserError(`FROM names an empty image after expanding "${s.from.image}"`, { location: s.from.pos });
    const ref = image.toLowerCase();
    if (ref === 'scratch') s.base = { kind: 'scratch' };
    else if (byName.has(ref)) s.base = { kind: 'stage', stage: byName.get(ref)! };
    else s.base = { kind: 'image', ref: image };
    if (s.platform !== undefined) s.platform = expandWord(s.platform, lookup, parsed.directives.escape, s.from.pos);
    if (s.name) byName.set(s.name, s.index);
  }

  for (const s of stages) {
    if (s.base.kind === 'stage') s.dependsOn.push(s.base.stage);
    for (const ins of s.instructions) {
      const refs: string[] = [];
      if (ins.kind === 'COPY' || ins.kind === 'ADD') {
        const from = flagValue(ins, 'from');
        if (from !== undefined) refs.push(expandWord(from, lookup, parsed.directives.escape, ins.pos));
      }
      if (ins.kind === 'RUN') refs.push(...mountFromValues(ins));
      for (const r of refs) {
        const dep = resolveStageRef(r, stages, byName, s.index);
        if (dep === s.index) throw new UserError(`stage "${r}" cannot refer to itself`, { location: ins.pos });
        if (dep !== undefined) {
          if (!s.dependsOn.includes(dep)) s.dependsOn.push(dep);
        } else if (!s.imageDeps.includes(r)) s.imageDeps.push(r);
      }
    }
  }

  let target = stages[stages.length - 1];
  if (opts.target !== undefined) {
    const t = byName.get(opts.target.toLowerCase());
    if (t === undefined) throw new UserError(`target stage "${opts.target}" could not be found`);
    target = stages[t];
  }
  return { file: parsed.file, escape: parsed.directives.escape, globalArgs, stages, target, order: dependencyOrder(stages, target.index) };
}

/** A `--from` value names a stage by alias, or by index when it is a number; else it is an image. */
function resolveStageRef(ref: string, stages: Stage[], byName: Map<string, number>, current: number): number | undefined {
  const lower = ref.toLowerCase();
  if (byName.has(lower)) {
    const i = byName.get(lower)!;
    return i <= current ? i : undefined;
  }
  if (/^[0-9]+$/.test(ref)) {
    const i = Number(ref);
    if (i < stages.length && i <= current) return i;
  }
  return undefined;
}

/** Post-order walk from the target: only stages the target needs, each after its dependencies. */
function dependencyOrder(stages: Stage[], target: number): number[] {
  const order: number[] = [];
  const seen = new Set<number>();
  const visit = (i: number) => {
    if (seen.has(i)) return;
    seen.add(i);
    for (const d of stages[i].dependsOn) visit(d);
    order.push(i);
  };
  visit(target);
  return order;
}
