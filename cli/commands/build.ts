// `tsbuild build [CONTEXT]`: flags named as buildah's.
import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { build } from '../../builder/build.js';
import { parseBuildArgs } from '../../builder/plan/args.js';
import { parseSecretSpec, type RunNetwork } from '../../builder/steps/run-options.js';
import type { Isolation } from '../../native/index.js';
import { UserError } from '../../oci/errors.js';
import { progressOptions, withProgress, type Progress } from '../progress.js';
import { setSourceBase } from '../errors.js';
import { interruptSignal } from '../signals.js';
import { collect, parseSeconds, rootOption, storeFor } from './common.js';
import { storePuller } from './puller.js';

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
import { pushImage } from '../../registry/api.js';
import { requireImage } from '../../cache/lookup.js';
import { parsePlatform } from '../../oci/platform.js';
import { registryOptions, toRegistryOptions, type RegistryFlags } from './registry-flags.js';
import { openDestination, openSource } from '../../registry/open.js';
import { parseTransportReference } from '../../registry/transport-ref.js';
import type { TransportReference } from '../../registry/transport.js';

interface BuildFlags extends RegistryFlags {
  push?: boolean;
  digestfile?: string;
  tag: string[];
  file?: string;
  buildArg: string[];
  target?: string;
  format: string;
  compressionFormat?: string;
  compressionLevel?: string;
  timestamp?: string;
  iidfile?: string;
  label: string[];
  annotation: string[];
  ignorefile?: string;
  root?: string;
  platform?: string;
  pull: string;
  jobs?: string;
  quiet?: boolean;
  isolation?: string;
  network?: string;
  secret: string[];
  cache: boolean;
  /** --no-cache-filter (commander names a --no-* option after what follows --no-). */
  cacheFilter: string[];
  cacheTo?: string;
  cacheFrom?: string;
  progress?: string;
  logfile?: string;
}

const TRANSPORT = /^(oci|oci-archive|docker-archive|docker):/;

/** A cache reference: a transport reference, or a bare name meaning docker:// (as push/pull take). */
function cacheRef(s: string): TransportReference {
  try {
    return parseTransportReference(TRANSPORT.test(s) ? s : 'docker://' + s);
  } catch (e) {
    throw new UserError(`invalid cache reference "${s}": ${(e as Error).message}`);
  }
}

export function registerBuild(program: Command): void {
  const cmd = program
    .command('build')
    .alias('bud')
    .description('build an image from a Containerfile')
    .argument('[context]', 'build context directory', '.')
    .option('-t, --tag <name>', 'name the image (repeatable)', collect, [])
    .option('-f, --file <path>', 'Containerfile to use (default: CONTEXT/Containerfile, else CONTEXT/Dockerfile)')
    .option('--build-arg <arg>', 'build argument K=V, or K to take it from the environment (repeatable)', collect, [])
    .option('--target <stage>', 'build this stage and the stages it needs, not the last one')
    .addOption(new Option('--format <format>', 'manifest and config format').choices(['oci', 'docker']).default('oci'))
    .addOption(new Option('--compression-format <format>', 'layer compression (zstd needs --format oci)').choices(['gzip', 'zstd', 'none']))
    .option('--compression-level <n>', 'compression level: gzip 0-9 (default 1), zstd 1-19 (default 3)')
    .option('--timestamp <seconds>', 'set created times and every file mtime to this time, for reproducible images')
    .option('--iidfile <file>', 'write the image ID to this file')
    .option('--label <key=value>', 'add a label to the image (repeatable)', collect, [])
    .option('--annotation <key=value>', 'add a manifest annotation (repeatable)', collect, [])
    .option('--ignorefile <file>', 'ignore file to use instead of .containerignore/.dockerignore')
    .option('--platform <os/arch>', 'target platform (default: this machine)')
    .addOption(new Option('--pull <policy>', 'pull base images: missing, always or never').choices(['missing', 'always', 'never', 'true', 'false']).default('missing'))
    .option('--jobs <n>', 'how many stages may run at once')
    .option('-q, --quiet', 'print only the image ID')
    .option('--push', 'after a successful build, push every -t name to its registry')
    .addOption(new Option('--isolation <type>', 'RUN isolation: oci (root default), rootless (default for other users) or chroot; default also from $TSBUILD_ISOLATION').choices(['oci', 'rootless', 'chroot']))
    .addOption(new Option('--network <mode>', 'RUN network: host (default), private (own namespace, loopback only) or none').choices(['host', 'private', 'none', 'default']))
    .option('--secret <spec>', 'secret for RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VAR (repeatable)', collect, [])
    .option('--no-cache', 'run every step instead of using the build cache (results are still cached)')
    .option('--no-cache-filter <stage>', 'run every step of this stage, by name or index (repeatable)', collect, [])
    .option('--cache-to <ref>', 'after the build, write its cache entries as an image to this registry repository (or oci:DIR)')
    .option('--cache-from <ref>', 'use cache entries written by --cache-to (layers are fetched only when needed)')
    .option('--digestfile <file>', 'write the manifest digest (of the first push, with --push) to this file')
    .addHelpText('after', '\nExamples:\n  tsbuild build -t my-nginx .\n  tsbuild build -f Containerfile.dev --build-arg VERSION=2 --target test -t app:test .\n  SOURCE_DATE_EPOCH=0 tsbuild build --timestamp 0 -t repro .\n  tsbuild build --progress=plain --logfile build.log -t app .   # CI: full step output in a file\n  tsbuild build --progress=json -t app . 2> events.jsonl          # one event object per line\n  tsbuild build -q -t app .                                      # only the image ID\n  tsbuild build --isolation chroot -t app .                      # pods without CAP_SYS_ADMIN');
  rootOption(registryOptions(progressOptions(cmd)));
  cmd.action((context: string, flags: BuildFlags) =>
    withProgress({ mode: flags.progress, quiet: flags.quiet, logfile: flags.logfile }, (progress) => buildAction(context, flags, progress)),
  );
}

async function buildAction(context: string, flags: BuildFlags, progress: Progress): Promise<void> {
  setSourceBase(flags.file ? '.' : context);
  const store = await storeFor(flags);
  const sde = process.env.SOURCE_DATE_EPOCH;
  const pull = flags.pull === 'true' ? 'always' : flags.pull === 'false' ? 'missing' : (flags.pull as 'missing' | 'always' | 'never');
  if (flags.push && flags.tag.length === 0) throw new UserError('--push needs at least one -t NAME to push to');
  const registry = toRegistryOptions(flags);
  const jobs = flags.jobs !== undefined ? Number(flags.jobs) : undefined;
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1)) throw new UserError(`--jobs must be a positive number, got "${flags.jobs}"`);
  const result = await build({
    context,
    file: flags.file,
    store,
    tags: flags.tag,
    buildArgs: parseBuildArgs(flags.buildArg),
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
    puller: storePuller({ registry, platform: flags.platform ? parsePlatform(flags.platform) : undefined, onEvent: progress.event }),
    jobs,
    signal: interruptSignal(),
    ...(flags.isolation ? { isolation: flags.isolation as Isolation } : {}),
    ...(flags.network && flags.network !== 'default' ? { network: flags.network as RunNetwork } : {}),
    secrets: new Map(flags.secret.map((spec) => {
      try {
        return parseSecretSpec(spec);
      } catch (e) {
        throw new UserError((e as Error).message);
      }
    })),
    noCache: !flags.cache,
    noCacheFilter: flags.cacheFilter,
    ...(flags.cacheFrom ? { cacheFrom: { reference: flags.cacheFrom, open: () => openSource(cacheRef(flags.cacheFrom!), { tmpDir: store.tmp, registry: registry as Record<string, unknown> }) } } : {}),
    ...(flags.cacheTo ? { cacheTo: { reference: flags.cacheTo, open: () => openDestination(cacheRef(flags.cacheTo!), { tmpDir: store.tmp, registry: registry as Record<string, unknown> }) } } : {}),
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
