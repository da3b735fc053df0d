// COPY and ADD as build steps: expand the instruction's words, pick the source (context, another
// stage, or an image), plan the entries against the stage's filesystem, and commit a layer.
import { located, UserError } from '../../oci/errors.js';
import { RootfsView } from '../../cache/rootfs-view.js';
import type { Instruction } from '../containerfile/index.js';
import { expandHeredocBody, expandWord } from '../containerfile/index.js';
import { flagValue } from '../plan/stages.js';
import type { StepContext } from '../solve/solver.js';
import { resolveFromRef } from '../solve/from-ref.js';
import { currentWorkdir, expansionLookup } from '../solve/stage-state.js';
import { RootfsSource, planCopy, type CopyRequest, type CopySource } from './copy.js';
import { buildContextSource, type ContextSource } from './copy-source.js';
import { planAdd } from './add.js';
import { commitEntries, stepNow } from './layer-commit.js';
import type { LayerRef } from '../solve/stage-state.js';

type CopyInstruction = Extract<Instruction, { kind: 'COPY' | 'ADD' }>;

/** The build's shared view of its context: the step's cache key already stat'ed what it selects. */
function contextSource(ctx: StepContext): ContextSource {
  return buildContextSource(ctx.solve);
}

/** `--from=`: an earlier stage's or an image's filesystem. */
async function fromSource(from: string, ins: CopyInstruction, ctx: StepContext): Promise<CopySource> {
  const ref = await resolveFromRef(from, `${ins.kind} --from`, ctx, ins.pos);
  if (ref.kind === 'stage') return new RootfsSource(await ctx.rootfs(await ctx.stageResult(ref.index)));
  return new RootfsSource(new RootfsView(await ctx.solve.store.snapshots.ensure(ref.image.layers)));
}

/** The instruction's words expanded into a copy request (also what the step's cache key hashes). */
export function copyRequest(ins: CopyInstruction, state: StepContext['state']) {
  const lookup = expansionLookup(state);
  const word = (w: string) => expandWord(w, lookup, state.escape, ins.pos);
  const flag = (name: string) => {
    const v = flagValue(ins, name);
    return v === undefined ? undefined : word(v);
  };
  const req: CopyRequest = {
    sources: ins.sources.map(word),
    dest: word(ins.dest),
    workdir: currentWorkdir(state),
    chown: flag('chown'),
    chmod: flag('chmod'),
    link: flagValue(ins, 'link') !== undefined,
    exclude: ins.flags.filter((f) => f.name === 'exclude').map((f) => word(f.value ?? '')),
    parents: flagValue(ins, 'parents') !== undefined,
    heredocs: ins.heredocs.map((h) => ({ name: h.name, content: h.expand ? expandHeredocBody(h.name, h.content, lookup, ins.pos) : h.content })),
    location: ins.pos,
  };
  return { req, from: flag('from'), checksum: flag('checksum'), keepGitDir: flagValue(ins, 'keep-git-dir') !== undefined };
}

export async function copyStep(ins: Instruction, ctx: StepContext): Promise<LayerRef | undefined> {
  if (ins.kind !== 'COPY' && ins.kind !== 'ADD') throw new Error(`copyStep got ${ins.kind}`);
  const state = ctx.state;
  const { req, from, checksum, keepGitDir } = copyRequest(ins, state);
  const dest = await ctx.rootfs(state);
  const now = stepNow(ctx);
  if (ins.kind === 'COPY') {
    const src = from !== undefined ? await fromSource(from, ins, ctx) : contextSource(ctx);
    return commitEntries(await located(ins.kind, ins.pos, planCopy(req, src, dest, { now })), ctx);
  }
  if (from !== undefined) throw new UserError('ADD does not support --from; use COPY --from', { location: ins.pos });
  // Downloads and archive members wait in a scratch directory until the layer is written.
  const store = ctx.solve.store;
  const scratchDir = await store.makeTempDir('add');
  try {
    const entries = await located(ins.kind, ins.pos, planAdd({ ...req, checksum, keepGitDir }, contextSource(ctx), dest, { now, scratchDir, signal: ctx.solve.signal }));
    return await commitEntries(entries, ctx);
  } finally {
    await store.removeTempDir(scratchDir);
  }
}
