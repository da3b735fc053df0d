// The second half of an extended build (§K-2), after assemble ran in the builder: take the
// artifacts out of the assembled image, stage them with S2I's upload modes next to the external
// run/assemble-runtime scripts, build FROM the runtime image (COPY into its WORKDIR, assemble-runtime),
// and give the result the output config with the runtime image's user and entrypoint.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOptions } from '../build.js';
import type { ImageRecord } from '../../cache/images.js';
import type { Store } from '../../cache/store.js';
import { imageLayers } from './artifacts.js';
import { renderRuntime } from './containerfile.js';
import type { EnvList } from './env.js';
import type { RewrittenImage } from './image-config.js';
import { finishOutputImage } from './output-image.js';
import { stageRuntimeArtifacts } from './runtime-artifacts.js';
import { runtimePath, stageRuntimeScripts, type RuntimeImage } from './runtime-image.js';
import { lineOf, scriptFailure } from './script-failure.js';
import type { ResolvedScript } from './scripts.js';

export interface RuntimeBuild {
  store: Store;
  /** build() options shared by every build of this s2i build */
  common: Omit<BuildOptions, 'context' | 'file'>;
  /** the s2i work dir (the build context; upload/scripts holds the external scripts) */
  work: string;
  /** the image assemble produced: read for the artifacts, then dropped when it has no name */
  assembled: ImageRecord;
  builderName: string;
  runtime: RuntimeImage;
  assembleRuntime: ResolvedScript;
  run: ResolvedScript;
  env: EnvList;
  generatedLabels: Record<string, string>;
  tag?: string;
  warn: (m: string) => void;
  log: (m: string) => void;
}

export async function buildOnRuntimeImage(r: RuntimeBuild): Promise<RewrittenImage> {
  const rt = r.runtime;
  const stage = join(r.work, 'upload', 'runtime');
  await fsp.rm(stage, { recursive: true, force: true });
  await fsp.mkdir(stage, { recursive: true });
  await fsp.chmod(stage, 0o755); // becomes the WORKDIR when the runtime image has none there
  const copied = await stageRuntimeArtifacts(await imageLayers(r.store, r.assembled), rt.artifacts, stage, r.builderName, r.warn);
  r.log(`Copying ${copied} runtime artifact entries into ${rt.workdir} of ${rt.info.name}: ${rt.artifacts.map((a) => `${a.source} -> ${a.destination}`).join(', ')}`);
  if (r.assembled.names.length === 0) await r.store.images.remove(r.assembled.id).catch(() => undefined);
  await stageRuntimeScripts([['assemble-runtime', r.assembleRuntime], ['run', r.run]], join(r.work, 'upload', 'scripts'), stage);

  const assembleRuntime = runtimePath(rt, r.assembleRuntime, 'assemble-runtime');
  const run = runtimePath(rt, r.run, 'run');
  if (r.run.origin === 'upload') r.log(`run: ${run} in ${rt.info.name}`);
  const text = renderRuntime({
    runtime: rt.info.record.id,
    env: r.env,
    workdir: rt.workdir,
    ...(rt.assembleRuntimeUser ? { user: rt.assembleRuntimeUser } : {}),
    assembleRuntime,
    run,
  });
  const file = join(r.work, 'Containerfile.runtime');
  await fsp.writeFile(file, text);
  r.log(`Running assemble-runtime as ${rt.assembleRuntimeUser || rt.info.config.config?.User || 'root'}`);
  let result;
  try {
    result = await build({ ...r.common, context: r.work, file });
  } catch (e) {
    throw scriptFailure(e, lineOf(text, `RUN ${assembleRuntime}`), 'assemble-runtime', rt.info.name);
  }
  const rec = (await r.store.images.resolve(result.id))!;
  return finishOutputImage(r.store, rec, { base: rt.info.config.config ?? {}, generated: r.generatedLabels, run, ...(r.tag ? { tag: r.tag } : {}) });
}
