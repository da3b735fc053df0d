// The executor: runs the stages the target needs (independent stages at the same time, bounded
// by `jobs`), the steps of one stage in order, and hands back each stage's final state.
import pLimit from 'p-limit';
import { located, UserError } from '../../oci/errors.js';
import type { ImageConfig, Platform } from '../../oci/types.js';
import type { Store } from '../../cache/store.js';
import { RootfsView } from '../../cache/rootfs-view.js';
import { BuildCache, type CacheEntry, type CacheLayer } from '../../cache/build-cache.js';
import type { RemoteCache } from '../../cache/build-cache-remote.js';
import type { CacheMountSync } from '../../cache/build-cache-mounts.js';
import { StatCache } from '../../cache/stat-cache.js';
import { formatPlatform, platformMatches } from '../../oci/platform.js';
import { ContextHasher } from '../context/hash.js';
import { parseContainerfile, type Instruction } from '../containerfile/index.js';
import type { EventSink } from '../events.js';
import { StageArgs } from '../plan/args.js';
import { parsePlatform, platformArgs } from '../plan/platform.js';
import type { Stage, StagePlan } from '../plan/stages.js';
import { applyMetadata, isMetadataInstruction } from '../steps/metadata.js';
import type { RunOptions } from '../steps/run-options.js';
import type { ChrootRoots } from '../steps/chroot-roots.js';
import { resolveImage, type PullPolicy, type Puller, type ResolvedImage } from './base-image.js';
import { createdBy, instructionLine } from './history.js';
import { DEFAULT_PATH, type LayerRef, type StageState } from './stage-state.js';
import { digestOf, explainMiss, rootInputs, stageResultKey, stepKey, type StepKey } from './cache-key.js';

/** The build cache's switches: lookups are on by default; entries are always written. */
export interface CacheOptions {
  /** false: --no-cache (every step runs; results still go to the cache). */
  lookup: boolean;
  /** --no-cache-filter: stages (by name or index) whose steps always run. */
  noCacheStages?: string[];
  /** Entries imported with --cache-from: consulted after the local cache; layers fetched on demand. */
  remote?: RemoteCache;
  /** RUN --mount=type=cache contents to import (--cache-from) and to note for export (--cache-to). */
  mounts?: CacheMountSync;
}

/**
 * The layer encoding as the cache key sees it: a layer cached as gzip must not answer a zstd build.
 * The default (gzip, default level) keeps the bare format name, so existing cache keys stay valid.
 */
function layerFormatKey(o: SolveOptions): string {
  const c = o.compression ?? 'gzip';
  if (c === 'gzip' && o.compressionLevel === undefined) return o.format;
  return `${o.format}+${c}${o.compressionLevel !== undefined ? ':' + o.compressionLevel : ''}`;
}

export interface SolveOptions {
  store: Store;
  plan: StagePlan;
  contextDir: string;
  ignorePatterns: string[];
  buildArgs: Map<string, string>;
  globalScope: Map<string, string>;
  platform: Platform;
  format: 'oci' | 'docker';
  /** --timestamp: every created time and file mtime becomes this (seconds). */
  timestamp?: number;
  /** SOURCE_DATE_EPOCH: created times become this and file mtimes are clamped to it. */
  sourceDateEpoch?: number;
  /** Layer compression (default gzip) and level (default: the compressor's, see cache/compression.ts). */
  compression?: 'gzip' | 'zstd' | 'none';
  compressionLevel?: number;
  pull: PullPolicy;
  puller?: Puller;
  jobs: number;
  emit: EventSink;
  signal?: AbortSignal;
  /** Handlers for steps that write the filesystem (COPY, ADD, RUN, WORKDIR's mkdir). */
  steps: FilesystemSteps;
  /** RUN settings (isolation, default network, secrets); defaults from defaultRunOptions(). */
  run?: RunOptions;
  /** Build cache switches (default: lookups on). */
  cache?: CacheOptions;
  /** Chroot isolation's rootfs directories, kept per stage from one RUN to the next. */
  chrootRoots: ChrootRoots;
}

export interface StepContext {
  solve: SolveOptions;
  state: StageState;
  stageIndex: number;
  step: number;
  /** Final state of another stage this one depends on (COPY --from, RUN --mount from=). */
  stageResult(index: number): Promise<StageState>;
  /** An image named by COPY --from / RUN --mount from=. */
  image(ref: string): Promise<ResolvedImage>;
  /** Read-only view of a stage's filesystem (its layers unpacked as snapshots). */
  rootfs(state: StageState): Promise<RootfsView>;
  /** Seconds for `created`/history. */
  created: string;
  /** Result cache key of an earlier stage (what COPY --from / RUN --mount from= depend on). */
  stageKey(index: number): Promise<string>;
}

export type FilesystemStep = (ins: Instruction, ctx: StepContext) => Promise<LayerRef | undefined>;
export interface FilesystemSteps {
  COPY: FilesystemStep;
  ADD: FilesystemStep;
  RUN: FilesystemStep;
  /** Creates the WORKDIR when it is missing; returns a layer only when it had to. */
  WORKDIR: FilesystemStep;
}

export class Solver {
  private readonly results = new Map<number, Promise<StageState>>();
  private readonly images = new Map<string, Promise<ResolvedImage>>();
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly created: string;
  private readonly cache: BuildCache;
  private readonly hasher: ContextHasher;
  /** Result key per stage (set when the stage finishes). */
  private readonly stageKeys = new Map<number, string>();
  /** History time of the newest step each stage ran or took from the cache. */
  readonly lastCreated = new Map<number, string>();
  /** Every cache entry this build used or made, by key (what --cache-to exports). */
  readonly usedEntries = new Map<string, CacheEntry>();
  /** Layers taken from the remote cache whose blobs are not fetched yet. */
  private readonly pending = new Map<string, CacheLayer>();

  private readonly opts: SolveOptions;
  /** Stops the other stages once one has failed (as BuildKit cancels the rest of a failed solve). */
  private readonly failed = new AbortController();
  /** Names declared by ARG instructions of ONBUILD triggers (build args they consume). */
  readonly triggerArgs = new Set<string>();
  /** The first stage failure, in time: what the build reports. */
  private firstFailure: { error: unknown } | undefined;

  constructor(opts: SolveOptions) {
    // The caller's Ctrl-C still stops everything: it aborts the controller the steps listen to.
    const outer = opts.signal;
    if (outer) {
      if (outer.aborted) this.failed.abort(outer.reason);
      else outer.addEventListener('abort', () => this.failed.abort(outer.reason), { once: true });
    }
    const signal = this.failed.signal;
    this.opts = { ...opts, signal };
    this.limit = pLimit(Math.max(1, opts.jobs));
    const t = opts.timestamp ?? opts.sourceDateEpoch;
    this.created = new Date(t !== undefined ? t * 1000 : Date.now()).toISOString();
    this.cache = new BuildCache(opts.store.root, opts.store.tmp);
    this.hasher = new ContextHasher(opts.contextDir, opts.ignorePatterns, StatCache.forContext(opts.store.root, opts.contextDir, opts.store.tmp));
  }

  /** Build the target stage (and what it needs); returns its final state. */
  async solve(): Promise<StageState> {
    // Start every needed stage at once; each waits for its own dependencies.
    const all = this.opts.plan.order.map((i) => this.stage(i));
    await Promise.allSettled(all);
    await this.hasher.save();
    const c = this.hasher.counters;
    if (c.reads + c.hits > 0) this.opts.emit({ type: 'context-hash', filesRead: c.reads, filesVerified: c.hits });
    // Every stage's rejection was noted (in time order) by stage() before allSettled saw it.
    if (this.firstFailure) throw this.firstFailure.error;
    return this.stage(this.opts.plan.target.index);
  }

  stage(index: number): Promise<StageState> {
    let p = this.results.get(index);
    if (!p) {
      p = this.runStage(this.opts.plan.stages[index]);
      // The failure is reported through solve(); the stages still running are stopped now rather
      // than left to finish work whose result is lost anyway.
      p.catch((error: unknown) => {
        this.firstFailure ??= { error };
        this.failed.abort();
      });
      this.results.set(index, p);
    }
    return p;
  }

  private image(ref: string, location?: { file: string; line: number }): Promise<ResolvedImage> {
    let p = this.images.get(ref);
    if (!p) {
      p = resolveImage(this.opts.store, ref, { pull: this.opts.pull, puller: this.opts.puller, location });
      this.images.set(ref, p);
    }
    return p;
  }

  private async runStage(stage: Stage): Promise<StageState> {
    await Promise.all(stage.dependsOn.map((d) => this.stage(d)));
    // Stage steps take a job slot only while they run, so waiting stages don't block others.
    return this.limit(() => this.executeStage(stage));
  }

  /** Result key of a stage (after it finished). */
  private async stageKey(index: number): Promise<string> {
    await this.stage(index);
    const k = this.stageKeys.get(index);
    if (!k) throw new Error(`stage ${index} finished without a cache key`);
    return k;
  }

  private lookupEnabled(stage: Stage): boolean {
    const c = this.opts.cache;
    if (c && !c.lookup) return false;
    const f = c?.noCacheStages ?? [];
    return !f.some((n) => n.toLowerCase() === stage.name || n === String(stage.index));
  }

  private async initialState(stage: Stage): Promise<{ state: StageState; base: string }> {
    const o = this.opts;
    const platform = stage.platform ? parsePlatform(stage.platform) : o.platform;
    if (!platform) throw new UserError(`invalid platform "${stage.platform}": expected os/arch[/variant]`, { location: stage.from.pos });
    const args = new StageArgs(o.buildArgs, new Map([...platformArgs(platform), ...o.globalScope]), o.plan.escape);
    let base: ImageConfig;
    let layers: LayerRef[] = [];
    let baseKey = 'scratch';
    if (stage.base.kind === 'scratch') {
      base = { architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}), config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] };
    } else if (stage.base.kind === 'stage') {
      const parent = await this.stage(stage.base.stage);
      baseKey = 'stage:' + (await this.stageKey(stage.base.stage));
      base = structuredClone(parent.image);
      base.history = structuredClone(parent.history);
      layers = [...parent.layers];
    } else {
      const img = await this.image(stage.base.ref, stage.from.pos);
      checkBasePlatform(img, stage.base.ref, platform, stage.from.pos);
      baseKey = img.record.manifestDigest;
      base = structuredClone(img.config);
      layers = [...img.layers];
    }
    const image = { ...base, config: base.config ?? {} } as StageState['image'];
    // A stage whose base sets no PATH gets the default one (BuildKit and buildah do, e.g. for scratch).
    if (!(image.config.Env ?? []).some((kv) => kv.startsWith('PATH='))) image.config.Env = [...(image.config.Env ?? []), `PATH=${DEFAULT_PATH}`];
    const history = image.history ?? [];
    delete image.history;
    const state: StageState = { stage, platform, image, layers, history, args, declaredArgs: new Set(), escape: o.plan.escape, cmdSetInStage: false };
    return { state, base: baseKey };
  }

  private async executeStage(stage: Stage): Promise<StageState> {
    const o = this.opts;
    const { state, base } = await this.initialState(stage);
    const baseName = stage.base.kind === 'image' ? stage.base.ref : stage.base.kind === 'stage' ? `stage ${stage.base.stage}` : 'scratch';
    o.emit({ type: 'stage-start', stage: stage.index, name: stage.name, base: baseName });

    // ONBUILD triggers of the base run first, as if written right after FROM; the new image does not inherit them.
    const triggers = stage.base.kind === 'scratch' ? [] : (state.image.config.OnBuild ?? []);
    state.image.config.OnBuild = null;
    const onbuild: Instruction[] = [];
    for (const t of triggers) {
      const parsed = parseContainerfile(t, `${o.plan.file} (ONBUILD of ${baseName})`);
      for (const ins of parsed.instructions) {
        onbuild.push({ ...ins, pos: stage.from.pos });
        if (ins.kind === 'ARG') for (const a of ins.args) this.triggerArgs.add(a.name);
      }
    }
    const steps = [...onbuild, ...stage.instructions];
    const total = steps.length + 1;
    const ordinal = o.plan.order.indexOf(stage.index) + 1;
    o.emit({ type: 'step-start', stage: stage.index, stageName: stage.name, stageOrdinal: ordinal, step: 1, steps: total, instruction: instructionLine(stage.from), line: stage.from.pos.line });
    o.emit({ type: 'step-done', stage: stage.index, step: 1, durationMs: 0, cached: false });

    // The chain of keys starts at the stage root: what the stage starts from and the layer-shaping options.
    const root = rootInputs(base, { platform: formatPlatform(state.platform), format: layerFormatKey(o), timestamp: o.timestamp, sourceDateEpoch: o.sourceDateEpoch });
    const parent = digestOf('stage-root', root);
    const rootSlot = digestOf('stage-root-slot', { from: stage.from.original, stage: String(stage.index) });
    const prevRoot = (await this.cache.previousInputs(rootSlot))?.inputs;
    // Why the first step would miss when nothing is recorded on this root: the base moved.
    const chainReason: string | undefined = prevRoot && digestOf('stage-root', prevRoot) !== parent ? explainMiss(prevRoot, root) : undefined;
    if (!prevRoot || chainReason) await this.cache.recordInputs(rootSlot, root);
    const lookup = this.lookupEnabled(stage);
    try {
      await this.executeSteps(stage, steps, state, ordinal, parent, lookup, chainReason);
    } finally {
      await o.chrootRoots.releaseStage(stage.index);
    }
    return state;
  }

  private async executeSteps(stage: Stage, steps: Instruction[], state: StageState, ordinal: number, parent: string, lookup: boolean, chainReason: string | undefined): Promise<void> {
    const o = this.opts;
    for (let i = 0; i < steps.length; i++) {
      o.signal?.throwIfAborted(); // build() reports it: 'build interrupted', exit 130
      const ins = steps[i];
      const stepNo = i + 2;
      const started = Date.now();
      o.emit({ type: 'step-start', stage: stage.index, stageName: stage.name, stageOrdinal: ordinal, step: stepNo, steps: steps.length + 1, instruction: instructionLine(ins), line: ins.pos.line });
      const r = await this.executeStep(ins, state, stepNo, parent, lookup, chainReason);
      parent = r.key;
      // After a miss, later steps miss because of it: say so once, then "previous step changed".
      chainReason = r.cached ? undefined : r.reason === 'not in cache' ? r.reason : 'previous step changed';
      o.emit({ type: 'step-done', stage: stage.index, step: stepNo, durationMs: Date.now() - started, cached: r.cached, layer: r.layer ? { digest: r.layer.digest, size: r.layer.size } : undefined });
    }
    this.stageKeys.set(stage.index, stageResultKey(parent, state));
  }

  private async executeStep(ins: Instruction, state: StageState, step: number, parent: string, lookup: boolean, chainReason: string | undefined): Promise<{ key: string; cached: boolean; layer?: LayerRef; reason?: string }> {
    const o = this.opts;
    if (ins.kind === 'FROM') throw new UserError('FROM inside a stage', { location: ins.pos });
    const metadata = isMetadataInstruction(ins);
    if (!metadata && ins.kind !== 'COPY' && ins.kind !== 'ADD' && ins.kind !== 'RUN') {
      throw new UserError(`${(ins as Instruction).kind} is not supported`, { location: (ins as Instruction).pos });
    }
    // Metadata is applied before keying: the config it produces (expansions included) is its key.
    if (metadata) applyMetadata(ins, state);
    const ctx = this.context(state, step);
    // Reading the sources for the key can fail on what the user must fix (a context file name that is not UTF-8).
    const k: StepKey = await located(ins.kind, ins.pos, stepKey(ins, state, parent, { step: ctx, hasher: this.hasher, stageKey: (i) => this.stageKey(i) }));

    // Where the inputs of the last build of this step are recorded: the same parent at the same place
    // (stage, step), so another stage's step on the same base never passes for an earlier version.
    const slot = digestOf(parent, { stage: String(state.stage.index), step: String(step) });
    let entry: CacheEntry | undefined;
    if (lookup && !k.uncacheable) {
      entry = await this.cache.get(k.key);
      // A hit is only usable while its layer blob is still in the store (prune may have taken it).
      if (entry?.layer && !(await o.store.blobs.has(entry.layer.digest))) entry = undefined;
      const remote = entry ? undefined : o.cache?.remote?.get(k.key);
      if (remote) {
        // The blob is fetched only if something needs it (see fetchPending / ensureLocal).
        entry = remote;
        if (remote.layer && !(await o.store.blobs.has(remote.layer.digest))) this.pending.set(remote.layer.digest, remote.layer);
        await this.cache.put(remote);
        // First use on this machine: remember its inputs so later misses here can be explained.
        await this.cache.recordInputs(slot, k.inputs, k.files);
      }
    }
    let layer: LayerRef | undefined;
    let created = this.created;
    let reason: string | undefined;
    if (entry) {
      o.emit({ type: 'step-cache', stage: state.stage.index, step, cached: true, key: k.key });
      layer = entry.layer;
      created = entry.created;
    } else {
      reason = k.uncacheable ?? (!lookup ? (o.cache && !o.cache.lookup ? '--no-cache' : '--no-cache-filter') : await this.missReason(parent, slot, k, chainReason));
      o.emit({ type: 'step-cache', stage: state.stage.index, step, cached: false, key: k.key, reason });
      // The step needs its rootfs (and maybe other stages'): remote layers must be here now.
      if (ins.kind !== 'ARG' && (!metadata || ins.kind === 'WORKDIR')) await this.fetchPending();
      if (ins.kind === 'WORKDIR') layer = await o.steps.WORKDIR(ins, ctx);
      else if (!metadata) layer = await o.steps[ins.kind as 'COPY' | 'ADD' | 'RUN'](ins, ctx);
      if (!k.uncacheable) {
        await this.cache.put({ version: 1, key: k.key, ...(layer ? { layer: { diffID: layer.diffID, digest: layer.digest, size: layer.size, mediaType: layer.mediaType } } : {}), created, instruction: ins.original });
        await this.cache.recordInputs(slot, k.inputs, k.files);
      }
    }
    if (!k.uncacheable) this.usedEntries.set(k.key, entry ?? { version: 1, key: k.key, ...(layer ? { layer: { diffID: layer.diffID, digest: layer.digest, size: layer.size, mediaType: layer.mediaType } } : {}), created, instruction: ins.original });
    // ARG leaves no history entry (BuildKit records build args on the RUN lines that see them).
    if (ins.kind !== 'ARG') {
      if (layer) state.layers.push(layer);
      state.history.push({ created, created_by: createdBy(ins, state), comment: 'buildkit.dockerfile.v0', ...(layer ? {} : { empty_layer: true }) });
      const last = this.lastCreated.get(state.stage.index);
      if (!last || last < created) this.lastCreated.set(state.stage.index, created);
    }
    // A step that always runs (ADD of a URL without --checksum) is keyed by its instruction only: the
    // steps after it must chain on what it produced, or a changed download would reuse their layers.
    const key = k.uncacheable ? digestOf(k.key, { produced: layer?.diffID ?? 'nothing' }) : k.key;
    return { key, cached: entry !== undefined, layer, reason };
  }

  /** Fetch every remote-cache layer taken so far (a step is about to read a rootfs). */
  private async fetchPending(): Promise<void> {
    const layers = [...this.pending.values()];
    await Promise.all(layers.map((l) => this.opts.cache!.remote!.fetch(l)));
    for (const l of layers) this.pending.delete(l.digest);
  }

  /** Make sure these layers' blobs are in the store (the final image's, before it is written). */
  async ensureLocal(layers: LayerRef[]): Promise<void> {
    const remote = this.opts.cache?.remote;
    if (!remote) return;
    await Promise.all(layers.filter((l) => this.pending.has(l.digest)).map((l) => remote.fetch(l)));
  }

  /** What made a step miss: compared with the inputs of the last step built on the same parent. */
  private async missReason(parent: string, slot: string, k: StepKey, chainReason: string | undefined): Promise<string> {
    const prev = await this.cache.previousInputs(slot);
    if (prev && digestOf(parent, prev.inputs) === k.key) return 'cache entry or its layer was pruned';
    return explainMiss(prev?.inputs, k.inputs, prev?.files, k.files) ?? chainReason ?? 'not in cache';
  }

  private context(state: StageState, step: number): StepContext {
    return {
      solve: this.opts,
      state,
      stageIndex: state.stage.index,
      step,
      stageResult: (i) => this.stage(i),
      image: (ref) => this.image(ref),
      rootfs: async (s) => new RootfsView(await this.opts.store.snapshots.ensure(s.layers)),
      created: this.created,
      stageKey: (i) => this.stageKey(i),
    };
  }
}

/**
 * A base image built for another platform than the stage's (--platform, FROM --platform) would give
 * an image whose config says one architecture and whose files are another's: refused, as buildah
 * refuses to use a local image of the wrong platform. (A pull picks the stage's platform from a
 * multi-platform index, so this only meets images already in the store or single-platform ones.)
 */
function checkBasePlatform(img: ResolvedImage, ref: string, want: Platform, location: { file: string; line: number }): void {
  const { os, architecture, variant } = img.config;
  if (!os || !architecture) return; // an image that does not say: nothing to compare
  const have: Platform = { os, architecture, ...(variant ? { variant } : {}) };
  if (platformMatches(have, want)) return;
  throw new UserError(`base image ${ref} is ${formatPlatform(have)}, not ${formatPlatform(want)} (the stage's platform)`, {
    location,
    hint: `pull the ${formatPlatform(want)} image (tsbuild pull --platform ${formatPlatform(want)} ...), or build for ${formatPlatform(have)}`,
  });
}
