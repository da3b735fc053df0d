// What `tsbuild build` does with its flags (build.ts declares them).
import { writeFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { build } from '../../builder/build.js';
import { parseBuildArgs } from '../../builder/plan/args.js';
import { parseSecretSpec, type RunNetwork } from '../../builder/steps/run-options.js';
import type { Isolation } from '../../native/index.js';
import { UserError } from '../../oci/errors.js';
import { parsePlatform } from '../../oci/platform.js';
import { requireImage } from '../../cache/lookup.js';
import { cacheLocation, pushImage } from '../../registry/api.js';
import type { Progress } from '../progress.js';
import { setSourceBase, setSourceText } from '../errors.js';
import { interruptSignal } from '../signals.js';
import type { BuildFlags } from './build.js';
import { parseSeconds, securityOptions, storeFor } from './common.js';
import { storePuller } from '../../registry/store-puller.js';
import { toRegistryOptions } from './registry-flags.js';

/** --compression-format / --compression-level as build() options (ranges are checked by the layer writer). */
function compressionOptions(flags: { compressionFormat?: string; compressionLevel?: string }) {
  const level = flags.compressionLevel !== undefined ? Number(flags.compressionLevel) : undefined;
  if (level !== undefined && (flags.compressionLevel!.trim() === '' || !Number.isInteger(level))) {
    throw new UserError(`--compression-level must be an integer, got "${flags.compressionLevel}"`);
  }
  return {
    ...(flags.compressionFormat !== undefined ? { compression: flags.compressionFormat as 'gzip' | 'zstd' | 'none' } : {}),
    ...(level !== undefined ? { compressionLevel: level } : {}),
  };
}
export async function buildAction(context: string, flags: BuildFlags, progress: Progress): Promise<void> {
  // `-f -`: the Containerfile comes on standard input, as with podman build (build() calls it "Containerfile").
  const containerfileText = flags.file === '-' ? await text(process.stdin) : undefined;
  const file = containerfileText === undefined ? flags.file : undefined;
  if (containerfileText !== undefined) setSourceText('Containerfile', containerfileText);
  else setSourceBase(file ? '.' : context);
  const store = await storeFor(flags);
  const buildArgs = parseBuildArgs(flags.buildArg);
  // As buildx: the environment's SOURCE_DATE_EPOCH unless a --build-arg gives one.
  const sde = buildArgs.has('SOURCE_DATE_EPOCH') ? undefined : process.env.SOURCE_DATE_EPOCH;
  const pull = flags.pull === 'true' ? 'always' : flags.pull === 'false' ? 'missing' : (flags.pull as 'missing' | 'always' | 'never');
  if (flags.push && flags.tag.length === 0) throw new UserError('--push needs at least one -t NAME to push to');
  const registry = toRegistryOptions(flags);
  const jobs = flags.jobs !== undefined ? Number(flags.jobs) : undefined;
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1)) throw new UserError(`--jobs must be a positive number, got "${flags.jobs}"`);
  const result = await build({
    context,
    file,
    containerfileText,
    store,
    tags: flags.tag,
    buildArgs,
    target: flags.target,
    format: flags.format as 'oci' | 'docker', ...compressionOptions(flags),
    timestamp: flags.timestamp !== undefined ? parseSeconds(flags.timestamp, '--timestamp') : undefined,
    sourceDateEpoch: sde !== undefined && sde !== '' ? parseSeconds(sde, 'SOURCE_DATE_EPOCH') : undefined,
    labels: flags.label,
    annotations: flags.annotation,
    ignorefile: flags.ignorefile,
    platform: flags.platform,
    pull,
    // A bad --platform is reported by build() itself; here it only picks what a pull fetches.
    puller: storePuller({ registry, platform: flags.platform ? parsePlatform(flags.platform) : undefined, onEvent: progress.event, signal: interruptSignal() }),
    jobs,
    signal: interruptSignal(),
    ...(flags.isolation ? { isolation: flags.isolation as Isolation } : {}),
    ...(flags.network && flags.network !== 'default' ? { network: flags.network as RunNetwork } : {}),
    ...securityOptions(flags.securityOpt),
    secrets: new Map(flags.secret.map((spec) => {
      try {
        return parseSecretSpec(spec);
      } catch (e) {
        throw new UserError((e as Error).message);
      }
    })),
    // buildah's --layers=false: no cached step is used (tsbuild still records them for later builds).
    noCache: !flags.cache || flags.layers === false,
    noCacheFilter: flags.cacheFilter,
    ...(flags.cacheFrom ? { cacheFrom: cacheLocation(flags.cacheFrom, { tmpDir: store.tmp, registry }).from } : {}),
    ...(flags.cacheTo ? { cacheTo: cacheLocation(flags.cacheTo, { tmpDir: store.tmp, registry }).to } : {}),
    onEvent: progress.event,
  });
  if (flags.iidfile) await writeFile(flags.iidfile, 'sha256:' + result.id);
  let digest = result.manifestDigest;
  if (flags.push) {
    // Each stored name (a short -t is localhost/NAME:latest, as podman names it) goes to its registry.
    const record = await requireImage(store, result.id);
    const pushed: string[] = [];
    for (const name of result.names) {
      const { manifestDigest } = await pushImage(store, record, 'docker://' + name, {
        registry,
        onEvent: progress.event,
      });
      pushed.push(manifestDigest);
      progress.message(`Pushed ${name}@${manifestDigest}`);
    }
    digest = pushed[0] ?? digest;
  }
  if (flags.digestfile) await writeFile(flags.digestfile, digest);
  process.stdout.write(result.id + '\n');
}
