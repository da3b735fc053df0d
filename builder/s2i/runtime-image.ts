// The runtime image of an extended build (§K): found per --runtime-pull-policy and held to
// --allowed-uids like the builder, its artifact mapping (-a, else its assemble-input-files label),
// the user assemble-runtime runs as, and where assemble-runtime and run are found in it.
import { promises as fsp } from 'node:fs';
import { join, posix } from 'node:path';
import type { Store } from '../../cache/store.js';
import { UserError } from '../../oci/errors.js';
import type { Puller } from '../solve/base-image.js';
import { inspectBuilder, type BuilderInfo, type PullPolicyS2I } from './builder-image.js';
import { makeDirs, parseRuntimeArtifacts, type RuntimeArtifact } from './runtime-artifacts.js';
import { resolveScripts, type ResolvedScript, type Scripts } from './scripts.js';
import { checkAllowedUser, type UidRange } from './uids.js';

export const ASSEMBLE_INPUT_FILES_LABEL = 'io.openshift.s2i.assemble-input-files';
export const ASSEMBLE_RUNTIME_USER_LABEL = 'io.openshift.s2i.assemble-runtime-user';

export interface RuntimeImage {
  info: BuilderInfo;
  /** WORKDIR of the runtime image ('/' when it has none): artifacts and external scripts go below it */
  workdir: string;
  artifacts: RuntimeArtifact[];
  /** USER for assemble-runtime; '' keeps the image's own */
  assembleRuntimeUser: string;
}

export interface RuntimeImageOptions {
  image: string;
  pullPolicy: PullPolicyS2I;
  puller?: Puller;
  /** parsed -a values; empty = take the image's label */
  artifacts: RuntimeArtifact[];
  assembleRuntimeUser?: string;
  /** --allowed-uids, checked as for the builder (with --assemble-user, as S2I's pull check does) */
  ranges: UidRange[];
  assembleUserFlag?: string;
}

export async function inspectRuntimeImage(store: Store, o: RuntimeImageOptions): Promise<RuntimeImage> {
  // The builder's pull rules and exit codes apply: missing under `never` is 1, a failed pull 2.
  const info = await inspectBuilder(store, o.image, o.pullPolicy, o.puller);
  const cfg = info.config.config ?? {};
  const labels = cfg.Labels ?? {};
  checkAllowedUser({
    ranges: o.ranges,
    image: info.name,
    ...(o.assembleUserFlag ? { assembleUserFlag: o.assembleUserFlag } : {}),
    ...(labels['io.openshift.s2i.assemble-user'] ? { assembleUserLabel: labels['io.openshift.s2i.assemble-user'] } : {}),
    imageUser: cfg.User ?? '',
    onBuild: cfg.OnBuild ?? [],
  });
  let artifacts = o.artifacts;
  if (artifacts.length === 0) {
    const mapping = labels[ASSEMBLE_INPUT_FILES_LABEL] ?? '';
    if (mapping === '') {
      throw new UserError('no runtime artifacts to copy were specified', {
        exitCode: 2,
        hint: `pass -a/--runtime-artifact SRC[:DST], or set the ${ASSEMBLE_INPUT_FILES_LABEL} label on the runtime image`,
      });
    }
    artifacts = parseRuntimeArtifacts([mapping], `${info.name} label ${ASSEMBLE_INPUT_FILES_LABEL}`, 1);
  }
  return {
    info,
    workdir: cfg.WorkingDir || '/',
    artifacts,
    // --assemble-runtime-user, the image's label, else its USER (kept by FROM).
    assembleRuntimeUser: o.assembleRuntimeUser || labels[ASSEMBLE_RUNTIME_USER_LABEL] || '',
  };
}

/**
 * assemble-runtime, resolved as the builder's scripts are but against the runtime image's labels:
 * --scripts-url, the source's .s2i/bin, the runtime image's scripts-url label (§K-2). Required.
 */
export async function resolveAssembleRuntime(rt: RuntimeImage, o: { scriptsUrl?: string; srcDir: string; uploadDir: string; warn: (m: string) => void; signal?: AbortSignal }): Promise<Scripts> {
  const cfg = rt.info.config.config ?? {};
  return resolveScripts({
    names: ['assemble-runtime'],
    required: ['assemble-runtime'],
    ...(o.scriptsUrl ? { scriptsUrl: o.scriptsUrl } : {}),
    srcDir: o.srcDir,
    uploadDir: o.uploadDir,
    // External scripts of the runtime image run from WORKDIR/scripts; the path is set by runtimePath.
    dest: rt.workdir,
    labels: cfg.Labels ?? {},
    env: cfg.Env ?? [],
    deferScriptsUrlCheck: true,
    imageRole: 'runtime',
    warn: o.warn,
    ...(o.signal ? { signal: o.signal } : {}),
  });
}

/** Where a script runs from in the runtime image: an external one from WORKDIR/scripts (§K-2). */
export function runtimePath(rt: RuntimeImage, script: ResolvedScript, name: string): string {
  return script.origin === 'upload' ? posix.join(rt.workdir, 'scripts', name) : script.path;
}

/**
 * Put the external ones of `scripts` (from upload/scripts) into the staged WORKDIR's scripts/, mode
 * 0755, after the artifacts: as in S2I, a script wins over an artifact file of the same name.
 */
export async function stageRuntimeScripts(scripts: Array<[string, ResolvedScript]>, uploadDir: string, stage: string): Promise<void> {
  for (const [name, s] of scripts) {
    if (s.origin !== 'upload') continue;
    await makeDirs(stage, 'scripts', `script ${name}`);
    const to = join(stage, 'scripts', name);
    await fsp.rm(to, { recursive: true, force: true }); // never write through a link an artifact put there
    await fsp.copyFile(join(uploadDir, name), to);
    await fsp.chmod(to, 0o755);
  }
}
