// The whole Containerfile front end as one pure-ish function, the way a build drives it: parse,
// plan stages (global ARGs, --target), then walk every stage the target needs applying config
// instructions, expanding RUN flags and commands, and planning COPY/ADD against an in-memory rootfs
// and a tiny real context. Nothing is executed and no store is touched, so a fuzzer can call it
// thousands of times a second. Every failure a user can provoke must be a positioned UserError.
import { UserError } from '../../oci/errors.js';
import { oneLine } from '../../cli/errors.js';
import { parseContainerfile, type Instruction } from '../../builder/containerfile/index.js';
import { globalArgScope, StageArgs } from '../../builder/plan/args.js';
import { platformArgs } from '../../builder/plan/platform.js';
import { planStages, type Stage } from '../../builder/plan/stages.js';
import { applyMetadata, isMetadataInstruction } from '../../builder/steps/metadata.js';
import { parseRunFlags } from '../../builder/steps/run-flags.js';
import { runCommand, runHistory } from '../../builder/steps/run-command.js';
import { createdBy, instructionLine } from '../../builder/solve/history.js';
import { DEFAULT_PATH, type StageState } from '../../builder/solve/stage-state.js';
import { planCopy, ContextSource } from '../../builder/steps/copy.js';
import { MemRootfs } from '../../builder/steps/fileops-memfs.js';
import { parseChmod } from '../../builder/steps/copy-owner.js';
import { copyRequest } from '../../builder/steps/copy-step.js';

const LINUX = { os: 'linux', architecture: 'amd64' };

export interface FrontEndOptions {
  buildArgs?: Map<string, string>;
  target?: string;
  /** A small real directory to COPY from; COPY/ADD are only planned when given. */
  contextDir?: string;
}

function baseRootfs(): MemRootfs {
  return new MemRootfs([
    { path: 'etc/passwd', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1, content: { data: Buffer.from('root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n') } },
    { path: 'etc/group', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1, content: { data: Buffer.from('root:x:0:\napp:x:1000:\n') } },
    { path: 'bin', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 1, linkname: 'usr/bin' },
    { path: 'usr/bin', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1 },
  ]);
}

function newState(stage: Stage, buildArgs: Map<string, string>, globals: Map<string, string>, escape: string, parent?: StageState): StageState {
  const image: StageState['image'] = parent
    ? structuredClone(parent.image)
    : { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Env: [`PATH=${DEFAULT_PATH}`] } };
  return {
    stage,
    platform: LINUX,
    image,
    layers: [],
    history: parent ? structuredClone(parent.history) : [],
    args: new StageArgs(buildArgs, new Map([...platformArgs(LINUX), ...globals]), escape),
    declaredArgs: new Set(),
    escape,
    cmdSetInStage: false,
  };
}

async function copyLike(ins: Extract<Instruction, { kind: 'COPY' | 'ADD' }>, state: StageState, contextDir: string): Promise<void> {
  // The step's own expansion of the instruction, up to the point where it would touch a store.
  const { req, from } = copyRequest(ins, state);
  parseChmod(req.chmod, ins.pos);
  if (from !== undefined) return; // another stage or an image: needs a store
  // Remote sources would download: keep the fuzzer offline.
  if (req.sources.some((s) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s) || s.startsWith('git@'))) return;
  await planCopy(req, new ContextSource(contextDir), baseRootfs(), { now: 1 });
}

/** Runs the front end over `text`. Resolves when it is accepted; rejects with whatever it threw. */
export async function runFrontEnd(text: string, opts: FrontEndOptions = {}): Promise<void> {
  const buildArgs = opts.buildArgs ?? new Map();
  const parsed = parseContainerfile(text);
  const escape = parsed.directives.escape;
  let globals = new Map<string, string>();
  const plan = planStages(parsed, {
    target: opts.target,
    globalScope: (declared) => (globals = globalArgScope(declared, buildArgs, platformArgs(LINUX), escape)),
  });
  const states = new Map<number, StageState>();
  for (const idx of plan.order) {
    const stage = plan.stages[idx];
    const parent = stage.base.kind === 'stage' ? states.get(stage.base.stage) : undefined;
    const state = newState(stage, buildArgs, globals, escape, parent);
    // ONBUILD triggers of a parent stage run first, re-parsed as the solver does.
    const steps: Instruction[] = [];
    for (const t of parent?.image.config.OnBuild ?? []) {
      for (const ins of parseContainerfile(t, `${plan.file} (ONBUILD)`).instructions) steps.push({ ...ins, pos: stage.from.pos });
    }
    state.image.config.OnBuild = null;
    steps.push(...stage.instructions);
    instructionLine(stage.from);
    for (const ins of steps) {
      instructionLine(ins);
      if (ins.kind === 'FROM') throw new UserError('FROM inside a stage', { location: ins.pos });
      if (isMetadataInstruction(ins)) applyMetadata(ins, state);
      else if (ins.kind === 'RUN') {
        parseRunFlags(ins, state);
        runCommand(ins, state);
        runHistory(ins, state);
      } else if ((ins.kind === 'COPY' || ins.kind === 'ADD') && opts.contextDir) await copyLike(ins, state, opts.contextDir);
      if (ins.kind !== 'ARG') createdBy(ins, state);
    }
    states.set(idx, state);
  }
}

/** Why an error is not acceptable from the front end, or undefined when it is. */
export function unacceptable(e: unknown): string | undefined {
  if (!(e instanceof UserError)) return `threw ${(e as Error)?.name ?? typeof e}: ${(e as Error)?.message ?? String(e)}`;
  // --target names a stage on the command line, not in the file: that error has no line to show.
  if (!e.location && !/^target stage ".*" could not be found$/s.test(e.message)) return `UserError without a position: ${e.message}`;
  if (!e.location) return undefined;
  if (!/^[^\n]*:\d+: /.test(e.message)) return `UserError message does not start with FILE:LINE: ${e.message}`;
  // The CLI prints the message as the one line a user sees (cli/errors.ts escapes control characters).
  if (oneLine(e.message).includes('\n')) return `UserError message spans lines: ${JSON.stringify(e.message)}`;
  if (!Number.isInteger(e.location.line) || e.location.line < 1) return `bad line ${e.location.line}: ${e.message}`;
  return undefined;
}
