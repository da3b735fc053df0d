// s2iBuild(): SOURCE + BUILDER → an application image, the way `s2i build` makes it, without a
// daemon (§0): prepare upload/{src,scripts,artifacts} in a work dir, render a Containerfile in the
// shape S2I's dockerfile mode uses, build it with tsbuild's own engine, then give the image the
// config daemon-mode users get (labels from image_metadata.json, builder USER and ENTRYPOINT).
// With a runtime image (§K) the assembled image is only a source of artifacts for a second build
// FROM the runtime image (runtime-build.ts).
import { promises as fsp } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { build, type BuildOptions } from '../build.js';
import type { BuildEvent } from '../events.js';
import type { Puller } from '../solve/base-image.js';
import type { RunNetwork } from '../steps/run-options.js';
import type { Isolation } from '../../native/index.js';
import type { Store } from '../../cache/store.js';
import { openStore, defaultStoreRoot } from '../../cache/store.js';
import { findImage } from '../../cache/lookup.js';
import { UserError } from '../../oci/errors.js';
import { normalizeLocalName, ReferenceError } from '../../oci/reference.js';
import type { ImageConfig, ManifestFormat } from '../../oci/types.js';
import { imageView, unpackArtifactsFromLayer } from './artifacts.js';
import { inspectBuilder, resolveAssembleUser, type BuilderInfo, type PullPolicyS2I } from './builder-image.js';
import { assembleRunLine, renderMain, renderSaveArtifacts } from './containerfile.js';
import { parseInjections, stageInjections, type InjectedFile, type InjectionSpec } from './inject.js';
import { checkEnvName, mergeEnv, parseEnvFlag, parseEnvironmentFile, readEnvironmentFlagFile, type EnvList } from './env.js';
import { applyS2iIgnore } from './ignore.js';
import { notifyCallback, parseCallbackUrl } from './callback.js';
import { generatedLabels } from './labels.js';
import { finishOutputImage } from './output-image.js';
import { parseRuntimeArtifacts } from './runtime-artifacts.js';
import { buildOnRuntimeImage } from './runtime-build.js';
import { inspectRuntimeImage, resolveAssembleRuntime, runtimePath, type RuntimeImage } from './runtime-image.js';
import { lineOf, scriptFailure } from './script-failure.js';
import { checkScriptsUrlUsed, resolveScripts, type ResolvedScript, type ScriptName, type Scripts } from './scripts.js';
import { acquireSource, DEFAULT_EXCLUDE, parseSource, type SourceInfo } from './source.js';
import { checkAllowedUser, parseUidRanges } from './uids.js';

export type S2IEvent = BuildEvent | { type: 's2i'; message: string };

export interface S2IBuildOptions {
  /** local directory, git URL (`#ref` allowed), or local git repository */
  source: string;
  builder: string;
  /** output name; without one the image stays untagged (its ID is returned) */
  tag?: string;
  /** -e NAME=VALUE */
  env?: string[];
  /** -E FILE */
  environmentFile?: string;
  /** -i SRC:DST (each also a `;`-separated list): files bind-mounted into assemble, never in a layer */
  inject?: string[];
  scriptsUrl?: string;
  destination?: string;
  contextDir?: string;
  ref?: string;
  incremental?: boolean;
  assembleUser?: string;
  allowedUids?: string;
  /** POST `{"success", "labels"}` here when the build is over (S2I's --callback-url) */
  callbackUrl?: string;
  /** write a Containerfile + upload/ context to this path instead of building */
  asDockerfile?: string;
  /** regex of source paths to leave out (default: anything in a .git directory); '' = nothing */
  exclude?: string;
  /** copy a local repository's working tree even when a ref is asked for */
  copy?: boolean;
  keepSymlinks?: boolean;
  ignoreSubmodules?: boolean;
  pullPolicy?: PullPolicyS2I;
  /**
   * --runtime-image: base the output on this image instead of the builder (extended build, §K):
   * the artifacts are taken out of the assembled builder image, then assemble-runtime runs in it.
   */
  runtimeImage?: string;
  /** -a SRC[:DST] (each also a `;`-separated list); none = the runtime image's assemble-input-files label */
  runtimeArtifacts?: string[];
  /** when to pull the runtime image (default if-not-present) */
  runtimePullPolicy?: PullPolicyS2I;
  /** user for assemble-runtime (default: label io.openshift.s2i.assemble-runtime-user, else the runtime image's USER) */
  assembleRuntimeUser?: string;
  store?: Store;
  root?: string;
  puller?: Puller;
  format?: ManifestFormat;
  timestamp?: number;
  isolation?: Isolation;
  network?: RunNetwork;
  onEvent?: (ev: S2IEvent) => void;
  signal?: AbortSignal;
}

export interface S2IBuildResult {
  /** image ID (absent with asDockerfile) */
  id?: string;
  names: string[];
  config?: ImageConfig;
  manifestDigest?: string;
  /** artifacts of the previous image were used */
  incremental: boolean;
  /** the Containerfile written (asDockerfile) */
  dockerfile?: string;
  warnings: string[];
}

const SCRIPT_NAMES: ScriptName[] = ['assemble', 'run', 'save-artifacts'];

interface Prepared {
  builder: BuilderInfo | undefined;
  dest: string;
  assembleUser: string;
  chown: string;
  scripts: Scripts;
  env: EnvList;
  labels: Record<string, string>;
  source: SourceInfo;
  /** --inject files, staged in upload/injections and bind-mounted into assemble */
  injections: InjectedFile[];
  /** the runtime image of an extended build, with its assemble-runtime script */
  runtime?: { image: RuntimeImage; assembleRuntime: ResolvedScript };
}

export async function s2iBuild(opts: S2IBuildOptions): Promise<S2IBuildResult> {
  const warnings: string[] = [];
  const emit = opts.onEvent ?? (() => undefined);
  const warn = (message: string) => {
    warnings.push(message);
    emit({ type: 'warning', message });
  };
  const callback = opts.callbackUrl !== undefined ? parseCallbackUrl(opts.callbackUrl) : undefined;
  if (!callback) return buildOnce(opts, warnings, warn);
  if (opts.asDockerfile !== undefined) {
    warn('--callback-url has no effect with --as-dockerfile: nothing is built');
    return buildOnce(opts, warnings, warn);
  }
  let result: S2IBuildResult;
  try {
    result = await buildOnce(opts, warnings, warn);
  } catch (e) {
    await notifyCallback(callback, false, {}, warn);
    throw e;
  }
  await notifyCallback(callback, true, result.config?.config?.Labels ?? {}, warn);
  return result;
}

async function buildOnce(opts: S2IBuildOptions, warnings: string[], warn: (message: string) => void): Promise<S2IBuildResult> {
  const emit = opts.onEvent ?? (() => undefined);
  const log = (message: string) => emit({ type: 's2i', message });

  // Everything the command line can get wrong is checked before any work.
  const ranges = parseUidRanges(opts.allowedUids);
  const injectSpecs = parseInjections(opts.inject ?? []);
  const runtimeArtifacts = parseRuntimeArtifacts(opts.runtimeArtifacts ?? [], '--runtime-artifact', 2);
  checkRuntimeCombination(opts, runtimeArtifacts.length > 0, warn);
  const flagEnv = (opts.env ?? []).map((e) => parseEnvFlag(e, warn));
  let tag: string | undefined;
  if (opts.tag) {
    try {
      tag = normalizeLocalName(opts.tag);
    } catch (e) {
      if (e instanceof ReferenceError) throw new UserError(`invalid tag "${opts.tag}": ${e.message}`, { exitCode: 2 });
      throw e;
    }
  }
  const store = opts.store ?? (await openStore(opts.root ?? defaultStoreRoot()));
  const dockerfileMode = opts.asDockerfile !== undefined;

  // The builder: inspected locally (pulled per --pull-policy). In dockerfile mode it is optional.
  let builder: BuilderInfo | undefined;
  try {
    builder = await inspectBuilder(store, opts.builder, opts.pullPolicy ?? 'if-not-present', opts.puller);
  } catch (e) {
    if (!dockerfileMode) throw e;
    warn(`could not inspect the builder image ${opts.builder} (${(e as Error).message}); using S2I's defaults for the generated Containerfile`);
  }
  const cfg = builder?.config.config ?? {};
  checkAllowedUser({
    ranges,
    image: builder?.name ?? opts.builder,
    ...(opts.assembleUser !== undefined ? { assembleUserFlag: opts.assembleUser } : {}),
    ...(cfg.Labels?.['io.openshift.s2i.assemble-user'] ? { assembleUserLabel: cfg.Labels['io.openshift.s2i.assemble-user'] } : {}),
    // Without the builder's config (dockerfile mode) S2I assumes 1001.
    imageUser: builder ? (cfg.User ?? '') : '1001',
    onBuild: cfg.OnBuild ?? [],
  });

  const runtime = opts.runtimeImage
    ? await inspectRuntimeImage(store, {
        image: opts.runtimeImage,
        pullPolicy: opts.runtimePullPolicy ?? 'if-not-present',
        ...(opts.puller ? { puller: opts.puller } : {}),
        artifacts: runtimeArtifacts,
        ...(opts.assembleRuntimeUser ? { assembleRuntimeUser: opts.assembleRuntimeUser } : {}),
        ranges,
        ...(opts.assembleUser ? { assembleUserFlag: opts.assembleUser } : {}),
      })
    : undefined;

  const work = dockerfileMode ? dockerfileDir(opts.asDockerfile!) : await store.makeTempDir('s2i');
  if (dockerfileMode) await fsp.mkdir(work, { recursive: true });
  const cleanups: Array<() => Promise<void>> = [];
  if (!dockerfileMode) cleanups.push(() => store.removeTempDir(work));
  try {
    const prep = await prepare(opts, store, builder, runtime, work, flagEnv, tag, injectSpecs, warn, log);
    if (dockerfileMode) return await writeDockerfile(opts, store, prep, work, tag, warn, log, warnings);
    return await buildImage(opts, store, prep, work, tag, warn, log, warnings, cleanups);
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
}

/** What S2I refuses with a runtime image (§A-7, §K-3), and runtime flags that mean nothing without one. */
function checkRuntimeCombination(opts: S2IBuildOptions, hasArtifacts: boolean, warn: (m: string) => void): void {
  if (opts.runtimeImage) {
    if (opts.incremental) throw new UserError("--incremental cannot be used with --runtime-image: incremental build with runtime image isn't supported", { exitCode: 2 });
    if (opts.asDockerfile !== undefined) throw new UserError('--as-dockerfile cannot be used with --runtime-image', { exitCode: 2 });
    return;
  }
  // S2I ignores them silently; a warning costs nothing and saves a puzzled look at the output.
  if (hasArtifacts) warn('--runtime-artifact is ignored without --runtime-image');
  if (opts.assembleRuntimeUser) warn('--assemble-runtime-user is ignored without --runtime-image');
}

function dockerfileDir(path: string): string {
  return path.endsWith('/') ? resolve(path) : dirname(resolve(path));
}

async function prepare(
  opts: S2IBuildOptions,
  store: Store,
  builder: BuilderInfo | undefined,
  runtime: RuntimeImage | undefined,
  work: string,
  flagEnv: EnvList,
  tag: string | undefined,
  injectSpecs: InjectionSpec[],
  warn: (m: string) => void,
  log: (m: string) => void,
): Promise<Prepared> {
  const cfg = builder?.config.config ?? {};
  const labels = cfg.Labels ?? {};
  // DEST: --destination, the builder's labels, STI_LOCATION, /tmp (§E-3). Dockerfile mode uses the
  // same order when it could read the builder: ignoring the label is a quirk not worth copying (§N-5).
  const stiLocation = cfg.Env?.find((e) => e.startsWith('STI_LOCATION='))?.slice('STI_LOCATION='.length);
  const dest = opts.destination || labels['io.openshift.s2i.destination'] || labels['io.s2i.destination'] || stiLocation || '/tmp';
  if (!dest.startsWith('/')) throw new UserError(`destination ${dest} must be an absolute path`, { exitCode: 2 });
  const assembleUser = builder ? resolveAssembleUser(opts.assembleUser, cfg) : (opts.assembleUser || '1001');
  // Injected files belong to the assemble user and its primary group, as when S2I untars them as that user.
  const chown = builder ? await chownFor(store, builder, assembleUser) : `${assembleUser.split(':')[0]}:0`;

  const upload = join(work, 'upload');
  await fsp.rm(upload, { recursive: true, force: true });
  await fsp.mkdir(upload, { recursive: true });
  const spec = await parseSource(opts.source, opts.ref, Boolean(opts.copy));
  log(spec.kind === 'git' ? `Cloning ${spec.location}${spec.ref ? ` at ${spec.ref}` : ''}` : `Copying sources from ${opts.source}`);
  const skip = [work, store.root];
  if (opts.asDockerfile) skip.push(resolve(opts.asDockerfile));
  const source = await acquireSource({
    spec,
    given: opts.source,
    ...(opts.contextDir !== undefined ? { contextDir: opts.contextDir } : {}),
    exclude: opts.exclude ?? DEFAULT_EXCLUDE,
    keepSymlinks: Boolean(opts.keepSymlinks),
    submodules: !opts.ignoreSubmodules,
    scratch: work,
    dest: join(upload, 'src'),
    skip,
    warn,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });

  // Scripts are picked up before .s2iignore, the environment file after it (§B-9).
  const scripts = await resolveScripts({
    names: SCRIPT_NAMES,
    required: ['assemble', 'run'],
    ...(opts.scriptsUrl ? { scriptsUrl: opts.scriptsUrl } : {}),
    srcDir: join(upload, 'src'),
    uploadDir: join(upload, 'scripts'),
    dest,
    ...(builder ? { labels, env: cfg.Env ?? [] } : { imageFallback: '/usr/libexec/s2i' }),
    // With a runtime image, a --scripts-url has to give a script of either image (S2I counts both).
    ...(runtime ? { deferScriptsUrlCheck: true } : {}),
    warn,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  for (const n of SCRIPT_NAMES) if (scripts[n]) log(`${n}: ${scripts[n]!.path} (from ${scripts[n]!.from})`);
  let runtimePrep: Prepared['runtime'];
  if (runtime) {
    const rtScripts = await resolveAssembleRuntime(runtime, {
      ...(opts.scriptsUrl ? { scriptsUrl: opts.scriptsUrl } : {}),
      srcDir: join(upload, 'src'),
      uploadDir: join(upload, 'scripts'),
      warn,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    checkScriptsUrlUsed(opts.scriptsUrl, scripts, rtScripts);
    const ar = rtScripts['assemble-runtime']!;
    log(`assemble-runtime: ${runtimePath(runtime, ar, 'assemble-runtime')} in ${runtime.info.name} (from ${ar.from})`);
    runtimePrep = { image: runtime, assembleRuntime: ar };
  }
  const ignored = await applyS2iIgnore(join(upload, 'src'));
  if (ignored.length > 0) log(`.s2iignore removed: ${ignored.join(' ')}`);

  const fileEnv = await fsp.readFile(join(upload, 'src', '.s2i', 'environment'), 'utf8').then(parseEnvironmentFile, () => [] as EnvList);
  const extra = opts.environmentFile ? await readEnvironmentFlagFile(opts.environmentFile, warn) : [];
  const env = mergeEnv(fileEnv, flagEnv, extra);
  for (const [k] of env) checkEnvName(k);

  // Relative destinations are below the builder's WORKDIR (S2I's daemon mode; its Dockerfile mode
  // always takes /opt/app-root/src, which is also the fallback here when the builder is unknown).
  const injections = await stageInjections(injectSpecs, work, builder ? (cfg.WorkingDir || '/') : '/opt/app-root/src');
  if (injections.length > 0) log(`Injecting ${injections.length} file(s) into assemble: ${injections.map((f) => f.target).join(' ')}`);

  const builderName = builder?.name ?? safeNormalize(opts.builder);
  return {
    builder,
    dest,
    assembleUser,
    chown,
    scripts,
    env,
    labels: generatedLabels({ ...(opts.tag ? { tag: opts.tag } : {}), builder: builderName, source }),
    source,
    injections,
    ...(runtimePrep ? { runtime: runtimePrep } : {}),
  };
}

function safeNormalize(ref: string): string {
  try {
    return normalizeLocalName(ref);
  } catch {
    return ref;
  }
}

async function chownFor(store: Store, builder: BuilderInfo, user: string): Promise<string> {
  const { resolveRunUser } = await import('../steps/run-user.js');
  const view = await imageView(store, builder.record);
  const u = await resolveRunUser(user === '' ? undefined : user, view, { file: `builder ${builder.name}`, line: 0 });
  return `${u.uid}:${u.gid}`;
}

async function buildImage(
  opts: S2IBuildOptions,
  store: Store,
  p: Prepared,
  work: string,
  tag: string | undefined,
  warn: (m: string) => void,
  log: (m: string) => void,
  warnings: string[],
  cleanups: Array<() => Promise<void>>,
): Promise<S2IBuildResult> {
  const builder = p.builder!;
  const cfg = builder.config.config ?? {};
  const common: Omit<BuildOptions, 'context' | 'file'> = {
    store,
    format: opts.format ?? 'oci',
    pull: 'never' as const,
    ...(opts.timestamp !== undefined ? { timestamp: opts.timestamp } : {}),
    ...(opts.isolation ? { isolation: opts.isolation } : {}),
    ...(opts.network ? { network: opts.network } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    onEvent: opts.onEvent ?? (() => undefined),
  };

  // Incremental: save-artifacts runs in the previous image; anything short of a good tar is a clean build.
  let incremental = false;
  if (opts.incremental) incremental = await saveArtifacts(opts, store, p, work, tag, common, warn, log, cleanups);

  const text = renderMain({
    builder: builder.record.id,
    env: p.env,
    dest: p.dest,
    chown: p.chown,
    ...(p.assembleUser !== '' ? { assembleUser: p.assembleUser } : {}),
    // The output runs as the builder's USER (§F-5, §H-8), not as the assemble user.
    finalUser: cfg.User ?? '',
    assemble: p.scripts.assemble!.path,
    run: p.scripts.run!.path,
    artifactsDir: incremental,
    injections: p.injections,
  });
  const file = join(work, 'Containerfile');
  await fsp.writeFile(file, text);
  const assembleLine = lineOf(text, assembleRunLine(p.scripts.assemble!.path, p.injections));
  log(`Running assemble as ${p.assembleUser || 'root'}`);
  let result;
  try {
    // An extended build's assembled image is only read for its artifacts: it needs no labels.
    result = await build({ ...common, context: work, file, ...(p.runtime ? {} : { labels: Object.entries(p.labels).map(([k, v]) => `${k}=${v}`) }) });
  } catch (e) {
    throw scriptFailure(e, assembleLine, 'assemble', builder.name);
  }
  const rec = (await store.images.resolve(result.id))!;

  const out = p.runtime
    ? await buildOnRuntimeImage({
        store,
        common,
        work,
        assembled: rec,
        builderName: builder.name,
        runtime: p.runtime.image,
        assembleRuntime: p.runtime.assembleRuntime,
        run: p.scripts.run!,
        env: p.env,
        generatedLabels: p.labels,
        ...(tag ? { tag } : {}),
        warn,
        log,
      })
    : await finishOutputImage(store, rec, { base: cfg, generated: p.labels, run: p.scripts.run!.path, ...(tag ? { tag } : {}) });
  emitImage(opts, out.record.id, out.record.names, out.manifestDigest);
  return { id: out.record.id, names: out.record.names, config: out.config, manifestDigest: out.manifestDigest, incremental, warnings };
}

function emitImage(opts: S2IBuildOptions, id: string, names: string[], manifestDigest: string): void {
  opts.onEvent?.({ type: 'image', id, names, manifestDigest });
}

async function saveArtifacts(
  opts: S2IBuildOptions,
  store: Store,
  p: Prepared,
  work: string,
  tag: string | undefined,
  common: Omit<BuildOptions, 'context' | 'file'>,
  warn: (m: string) => void,
  log: (m: string) => void,
  cleanups: Array<() => Promise<void>>,
): Promise<boolean> {
  const clean = (why: string) => {
    warn(`Clean build will be performed: ${why}`);
    return false;
  };
  if (!tag) return clean('--incremental needs an output tag to find the previous image');
  const previous = await findImage(store, tag);
  if (!previous) return clean(`previous image ${tag} not found`);
  const sa = p.scripts['save-artifacts'];
  if (!sa) return clean('no save-artifacts script');
  const prevCfg = (await store.images.readConfig(previous)).config ?? {};
  const text = renderSaveArtifacts({
    previous: previous.id,
    env: p.env,
    dest: p.dest,
    chown: p.chown,
    // As the assemble user, else the previous image's USER (§G-3).
    ...(p.assembleUser !== '' ? { user: p.assembleUser } : prevCfg.User ? { user: prevCfg.User } : {}),
    saveArtifacts: sa.path,
    uploadedScript: sa.origin === 'upload',
    out: '/tmp/artifacts.tar',
  });
  const file = join(work, 'Containerfile.save-artifacts');
  await fsp.writeFile(file, text);
  log(`Saving artifacts of ${tag} with ${sa.path}`);
  let saved;
  try {
    saved = await build({ ...common, context: work, file });
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    return clean(`error saving previous build artifacts: ${e.message}`);
  }
  const rec = (await store.images.resolve(saved.id))!;
  if (rec.names.length === 0) cleanups.push(() => store.images.remove(rec.id));
  const dir = join(work, 'upload', 'artifacts');
  try {
    const n = await unpackArtifactsFromLayer(store, rec, 'tmp/artifacts.tar', dir, warn);
    log(`Restored ${n} artifact entries`);
    return true;
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    await fsp.rm(dir, { recursive: true, force: true });
    return clean(`error saving previous build artifacts: ${e.message}`);
  }
}

async function writeDockerfile(
  opts: S2IBuildOptions,
  store: Store,
  p: Prepared,
  work: string,
  tag: string | undefined,
  warn: (m: string) => void,
  log: (m: string) => void,
  warnings: string[],
): Promise<S2IBuildResult> {
  const path = opts.asDockerfile!.endsWith('/') ? join(work, 'Dockerfile') : resolve(opts.asDockerfile!);
  const cfg = p.builder?.config.config;
  let cachedStage: { previous: string; saveArtifacts: string; uploadedScript: boolean } | undefined;
  if (opts.incremental) {
    const sa = p.scripts['save-artifacts'];
    const previous = tag ? await findImage(store, tag) : undefined;
    // S2I writes the stage regardless and the build then fails without the image; we leave it out.
    if (!tag || !previous) warn(`Clean build will be performed: previous image ${tag ?? '(no tag)'} not found, no artifacts stage written`);
    else if (!sa) warn('Clean build will be performed: no save-artifacts script');
    else cachedStage = { previous: tag, saveArtifacts: sa.path, uploadedScript: sa.origin === 'upload' };
  }
  const text = renderMain({
    builder: p.builder?.name ?? safeNormalize(opts.builder),
    labels: p.labels,
    env: p.env,
    dest: p.dest,
    chown: p.chown,
    ...(p.assembleUser !== '' ? { assembleUser: p.assembleUser } : {}),
    ...(cfg ? { finalUser: cfg.User ?? '' } : {}),
    assemble: p.scripts.assemble!.path,
    run: p.scripts.run!.path,
    ...(cachedStage ? { cachedStage } : {}),
    injections: p.injections,
  });
  await fsp.writeFile(path, text);
  log(`Application dockerfile generated in ${path}`);
  return { names: [], incremental: cachedStage !== undefined, dockerfile: path, warnings };
}
