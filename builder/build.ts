// build(): Containerfile + context → an image in the local store. The library entry point the
// CLI's `build` command is a thin client of.
import { readFile, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { interruptible, UserError } from '../oci/errors.js';
import { buildImage } from '../oci/manifest.js';
import type { ImageConfig, ManifestFormat } from '../oci/types.js';
import { openStore, defaultStoreRoot, type Store } from '../cache/store.js';
import { checkLevel } from '../cache/compression.js';
import { parseContainerfile } from './containerfile/index.js';
import { loadIgnorePatterns } from './context/ignorefile.js';
import type { BuildEvent, EventSink } from './events.js';
import { globalArgScope, unusedBuildArgs } from './plan/args.js';
import { hostPlatform, parsePlatform, platformArgs } from './plan/platform.js';
import { planStages } from './plan/stages.js';
import type { PullPolicy, Puller } from './solve/base-image.js';
import { Solver } from './solve/solver.js';
import { defaultSteps } from './steps/index.js';
import { defaultRunOptions, type RunNetwork, type SecretSource } from './steps/run-options.js';
import type { Isolation } from '../native/index.js';
import { markBuildActive } from '../cache/gc.js';
import { exportCache, importCache, type RemoteCache } from '../cache/build-cache-remote.js';
import { CacheMountSync, cacheMountLimit } from '../cache/build-cache-mounts.js';
import type { ImageDestination, ImageSource } from '../registry/transport.js';
import type { Platform } from '../oci/types.js';
import type { StagePlan } from './plan/stages.js';
import { ChrootRoots } from './steps/chroot-roots.js';
import { checkBuildOptions } from './build-options-check.js';
import { normalizeImageName } from '../cache/image-tag.js';

export interface BuildOptions {
  /** The build context directory. */
  context: string;
  /** Containerfile path (default: Containerfile, else Dockerfile, in the context). */
  file?: string;
  /**
   * The Containerfile's text itself, read by the caller (podman's `-f -`: standard input); used
   * instead of `file`. Messages call it "Containerfile"; only the context's ignore file applies.
   */
  containerfileText?: string;
  /** Store root (default: $TSBUILD_ROOT, /var/lib/tsbuild for root, else ~/.local/share/tsbuild). */
  root?: string;
  /** An already opened store (takes precedence over `root`). */
  store?: Store;
  tags?: string[];
  buildArgs?: Record<string, string> | Map<string, string>;
  target?: string;
  format?: ManifestFormat;
  /** Seconds since the epoch: created times and all file mtimes are set to it (buildah --timestamp). */
  timestamp?: number;
  /** Seconds since the epoch (SOURCE_DATE_EPOCH): created times set, file mtimes clamped. */
  sourceDateEpoch?: number;
  /** Layer compression: gzip (default), zstd (OCI format only) or none (buildah --compression-format). */
  compression?: 'gzip' | 'zstd' | 'none';
  /** gzip 0–9 (default 1), zstd 1–19 (default 3) (buildah --compression-level). */
  compressionLevel?: number;
  /** Extra labels `key=value` written into the final image config (buildah --label); a bare `key` is an empty value. */
  labels?: string[];
  /** Manifest annotations `key=value` (buildah --annotation); a bare `key` is an empty value. */
  annotations?: string[];
  ignorefile?: string;
  platform?: string;
  pull?: PullPolicy;
  puller?: Puller;
  /** How many stages may run at once (default: the number of CPUs). */
  jobs?: number;
  onEvent?: EventSink;
  signal?: AbortSignal;
  /** RUN runtime: oci (root default), rootless (non-root default), chroot; TSBUILD_ISOLATION overrides the default. */
  isolation?: Isolation;
  /** RUN's default network: host (default: tsbuild has no CNI/slirp network), private (loopback only) or none. */
  network?: RunNetwork;
  /** false runs RUN steps without the default syscall filter (buildah's `--security-opt seccomp=unconfined`). */
  seccomp?: boolean;
  /** Secrets for RUN --mount=type=secret, by id: read from a file or an environment variable. */
  secrets?: Record<string, SecretSource> | Map<string, SecretSource>;
  /** Run every step instead of using the build cache (results are still cached for later builds). */
  noCache?: boolean;
  /** Stages (by name or index) whose steps always run. */
  noCacheFilter?: string[];
  /** --cache-from: opens a cache image written by --cache-to; failing to open it only warns. */
  cacheFrom?: { reference: string; open(): Promise<ImageSource> };
  /** --cache-to: where to write the entries this build used or made, as one cache image. */
  cacheTo?: { reference: string; open(): Promise<ImageDestination> };
  /** --cache-to: cache mounts with more file bytes than this are not exported (default 512 MiB, or $TSBUILD_CACHE_MOUNT_MAX). */
  cacheMountExportMax?: number;
}

export interface BuildResult {
  /** Podman-style image ID: the hex of the config digest. */
  id: string;
  manifestDigest: string;
  configDigest: string;
  names: string[];
  config: ImageConfig;
}

/** `key=value` pairs; a bare `key` stands for an empty value, as buildah stores it. */
function keyValues(list: string[] | undefined, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const eq = kv.indexOf('=');
    if (eq === 0 || kv === '') throw new UserError(`invalid ${what} "${kv}": expected key=value or key`);
    if (eq < 0) out[kv] = '';
    else out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

/** The Containerfile's text and, when it is a file, its path and the name messages give it. */
async function readContainerfile(context: string, opts: BuildOptions): Promise<{ text: string; path?: string; name: string }> {
  if (opts.containerfileText !== undefined) return { text: opts.containerfileText, name: 'Containerfile' };
  const file = await findContainerfile(context, opts.file);
  try {
    const text = await readFile(file, 'utf8');
    return { text, path: file, name: opts.file ?? (file.startsWith(context + '/') ? file.slice(context.length + 1) : file) };
  } catch {
    throw new UserError(`cannot read Containerfile ${file}`);
  }
}

async function findContainerfile(context: string, file?: string): Promise<string> {
  if (file) return resolve(file);
  for (const name of ['Containerfile', 'Dockerfile']) {
    const p = join(context, name);
    try {
      if ((await stat(p)).isFile()) return p;
    } catch {
      /* try the next name */
    }
  }
  throw new UserError(`no Containerfile or Dockerfile found in ${context}`);
}

function normalizeTags(tags: string[] | undefined): string[] {
  return (tags ?? []).map((t) => normalizeImageName(t, 'tag'));
}

function runOptions(opts: BuildOptions) {
  const d = defaultRunOptions();
  const secrets = opts.secrets instanceof Map ? opts.secrets : new Map(Object.entries(opts.secrets ?? {}));
  for (const [id, s] of secrets) if (s.file === undefined && s.env === undefined) throw new UserError(`secret ${id}: needs a file or an environment variable`);
  return { isolation: opts.isolation ?? d.isolation, network: opts.network ?? d.network, secrets, seccomp: opts.seccomp ?? d.seccomp };
}

export async function build(buildOpts: BuildOptions): Promise<BuildResult> {
  return interruptible(buildOpts.signal, 'build interrupted', () => buildChecked(buildOpts));
}

async function buildChecked(buildOpts: BuildOptions): Promise<BuildResult> {
  checkBuildOptions(buildOpts);
  const emit: EventSink = buildOpts.onEvent ?? (() => undefined);
  const buildArgs = new Map(buildOpts.buildArgs instanceof Map ? buildOpts.buildArgs : Object.entries(buildOpts.buildArgs ?? {}));
  const opts = { ...buildOpts, sourceDateEpoch: withSourceDateEpoch(buildOpts.sourceDateEpoch, buildArgs) };
  const context = resolve(opts.context);
  try {
    if (!(await stat(context)).isDirectory()) throw new Error();
  } catch {
    throw new UserError(`build context ${opts.context} is not a directory`);
  }
  const format = opts.format ?? 'oci';
  const names = normalizeTags(opts.tags);
  const labels = keyValues(opts.labels, 'label');
  const annotations = keyValues(opts.annotations, 'annotation');
  if (format === 'docker' && opts.compression === 'zstd') throw new UserError('zstd layers need an OCI manifest: use --format oci or --compression-format gzip');
  checkLevel(opts.compression ?? 'gzip', opts.compressionLevel);
  if (format === 'docker' && Object.keys(annotations).length > 0) throw new UserError('annotations need an OCI manifest: drop --annotation or use --format oci');
  const platform = opts.platform ? parsePlatform(opts.platform) : hostPlatform();
  if (!platform) throw new UserError(`invalid --platform "${opts.platform}": expected os/arch[/variant]`);

  const containerfile = await readContainerfile(context, opts);
  const file = containerfile.path;
  const parsed = parseContainerfile(containerfile.text, containerfile.name);
  const predefined = platformArgs(platform);
  let globalScope = new Map<string, string>();
  const plan = planStages(parsed, {
    target: opts.target,
    globalScope: (declared) => (globalScope = globalArgScope(declared, buildArgs, predefined, parsed.directives.escape)),
  });

  emit({ type: 'plan', stages: plan.order.length, totalStages: plan.stages.length });
  const store = opts.store ?? (await openStore(opts.root ?? defaultStoreRoot()));
  // Registered for the duration of the build so a concurrent `tsbuild prune` keeps what it uses.
  const unregister = await markBuildActive(store);
  try {
    return await buildWith(store, opts, { context, file, format, names, labels, annotations, platform, plan, buildArgs, globalScope, predefined, emit });
  } finally {
    await unregister();
  }
}

/** What build() worked out before solving. */
interface BuildInputs {
  context: string;
  /** The Containerfile's path (none when its text was given): its own ignore file may sit beside it. */
  file?: string;
  format: ManifestFormat;
  names: string[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  platform: Platform;
  plan: StagePlan;
  buildArgs: Map<string, string>;
  globalScope: Map<string, string>;
  predefined: Map<string, string>;
  emit: EventSink;
}

async function buildWith(store: Store, opts: BuildOptions, b: BuildInputs): Promise<BuildResult> {
  const { context, file, emit } = b;
  const ignorePatterns = await loadIgnorePatterns(context, { ignorefile: opts.ignorefile, containerfile: file });
  let remote: RemoteCache | undefined;
  if (opts.cacheFrom && !opts.noCache) {
    try {
      remote = await importCache(store, await opts.cacheFrom.open());
    } catch (e) {
      // A first CI run has no cache to read yet: build without it.
      emit({ type: 'warning', message: `cannot read the build cache from ${opts.cacheFrom.reference}: ${(e as Error).message}` });
    }
  }
  try {
    return await solveAndCommit(store, opts, b, ignorePatterns, remote);
  } finally {
    await remote?.close();
  }
}

/**
 * SOURCE_DATE_EPOCH as BuildKit and buildx take it: the option (the CLI's environment variable) or a
 * `--build-arg SOURCE_DATE_EPOCH=N`; the option is also handed in as that build arg, so an
 * `ARG SOURCE_DATE_EPOCH` sees it. `buildArgs` (the build's own copy) is completed in place.
 */
function withSourceDateEpoch(option: number | undefined, buildArgs: Map<string, string>): number | undefined {
  const arg = buildArgs.get('SOURCE_DATE_EPOCH');
  if (option !== undefined) {
    if (arg === undefined) buildArgs.set('SOURCE_DATE_EPOCH', String(option));
    return option;
  }
  if (arg === undefined || arg === '') return undefined;
  if (!/^\d+$/.test(arg)) throw new UserError(`invalid build arg SOURCE_DATE_EPOCH=${JSON.stringify(arg)}: expected whole seconds since 1970`);
  return Number(arg);
}

async function solveAndCommit(store: Store, opts: BuildOptions, b: BuildInputs, ignorePatterns: string[], remote: RemoteCache | undefined): Promise<BuildResult> {
  const { context, format, names, labels, annotations, platform, plan, buildArgs, globalScope, predefined, emit } = b;
  const mountLimit = opts.cacheTo ? cacheMountLimit(opts.cacheMountExportMax) : 0;
  const mounts = opts.cacheTo || remote ? new CacheMountSync(store, remote, (message) => emit({ type: 'warning', message })) : undefined;
  const chrootRoots = new ChrootRoots(store);
  const solver = new Solver({
    store,
    plan,
    contextDir: context,
    ignorePatterns,
    buildArgs,
    globalScope,
    platform,
    format,
    timestamp: opts.timestamp,
    sourceDateEpoch: opts.sourceDateEpoch,
    compression: opts.compression,
    compressionLevel: opts.compressionLevel,
    pull: opts.pull ?? 'missing',
    puller: opts.puller,
    jobs: opts.jobs ?? availableParallelism(),
    emit,
    signal: opts.signal,
    steps: defaultSteps(),
    run: runOptions(opts),
    cache: { lookup: !opts.noCache, noCacheStages: opts.noCacheFilter ?? [], remote, mounts },
    chrootRoots,
  });
  let final;
  try {
    final = await solver.solve();
  } finally {
    await chrootRoots.dispose();
  }
  // Layers hit in the remote cache are fetched only now, and only those the image is made of.
  await solver.ensureLocal(final.layers);

  const declared = new Set<string>([...plan.globalArgs.flatMap((a) => a.args.map((x) => x.name)), ...solver.triggerArgs]);
  for (const s of plan.stages) for (const ins of s.instructions) if (ins.kind === 'ARG') for (const a of ins.args) declared.add(a.name);
  const unused = unusedBuildArgs(buildArgs, declared, predefined);
  if (unused.length > 0) emit({ type: 'warning', message: `one or more build args were not consumed: [${unused.join(' ')}]` });

  const image: ImageConfig = {
    ...final.image,
    // Without a fixed time, the image is as old as its newest step (cached steps keep their first
    // run's time), so a fully cached rebuild yields the same image.
    created: opts.timestamp !== undefined || opts.sourceDateEpoch !== undefined ? new Date((opts.timestamp ?? opts.sourceDateEpoch)! * 1000).toISOString() : (solver.lastCreated.get(plan.target.index) ?? new Date().toISOString()),
    config: { ...final.image.config, ...(Object.keys(labels).length > 0 ? { Labels: { ...(final.image.config.Labels ?? {}), ...labels } } : {}) },
    rootfs: { type: 'layers', diff_ids: final.layers.map((l) => l.diffID) },
    history: final.history,
  };
  const built = buildImage(image, final.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })), format, annotations);
  await store.blobs.putBytes(built.config.bytes, { digest: built.config.digest });
  await store.blobs.putBytes(built.manifest.bytes, { digest: built.manifest.digest });
  const record = await store.images.add({ bytes: built.manifest.bytes, mediaType: built.manifest.mediaType }, names);
  const ev: BuildEvent = { type: 'image', id: record.id, names: record.names, manifestDigest: built.manifest.digest };
  emit(ev);
  if (opts.cacheTo) {
    const packed = (await mounts?.pack(mountLimit)) ?? [];
    const dest = await opts.cacheTo.open();
    try {
      const r = await exportCache(store, [...solver.usedEntries.values()], dest, remote, packed);
      emit({ type: 'cache-export', reference: opts.cacheTo.reference, entries: r.entries, layers: r.layers, manifestDigest: r.manifestDigest });
    } finally {
      await dest.close();
    }
  }
  return { id: record.id, manifestDigest: built.manifest.digest, configDigest: built.config.digest, names, config: image };
}
