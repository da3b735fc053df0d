// `tsbuild s2i build SOURCE BUILDER [TAG]` and `tsbuild s2i usage BUILDER`: S2I's flags, a thin
// client of builder/s2i. Progress on stderr; the image ID (or the generated file) on stdout.
import { Option, type Command } from 'commander';
import type { PullPolicyS2I, S2IBuildOptions, S2IEvent } from '../../builder/s2i/index.js';
import type { Isolation } from '../../native/index.js';
import { UserError } from '../../oci/errors.js';
import { plainProgress } from '../progress.js';
import { interruptSignal } from '../signals.js';
import { collect, rootOption, storeFor } from './common.js';
import { storePuller } from '../../registry/store-puller.js';
import { registryOptions, toRegistryOptions, type RegistryFlags } from './registry-flags.js';

/** The S2I flags commander parses: the library's own option names, plus the CLI-only ones. */
type S2IFlagOptions = Pick<
  S2IBuildOptions,
  | 'environmentFile'
  | 'scriptsUrl'
  | 'destination'
  | 'contextDir'
  | 'ref'
  | 'incremental'
  | 'assembleUser'
  | 'allowedUids'
  | 'asDockerfile'
  | 'exclude'
  | 'copy'
  | 'keepSymlinks'
  | 'ignoreSubmodules'
  | 'runtimeImage'
  | 'assembleRuntimeUser'
>;

interface S2IFlags extends RegistryFlags, S2IFlagOptions {
  root?: string;
  env: string[];
  inject: string[];
  runtimeArtifact: string[];
  pullPolicy: string;
  runtimePullPolicy: string;
  isolation?: string;
  quiet?: boolean;
  callbackUrl?: string;
  run?: boolean;
}

const PULL_POLICIES = ['always', 'never', 'if-not-present'];

function pullPolicyOption(): Option {
  return new Option('-p, --pull-policy <policy>', 'when to pull the builder: always, never or if-not-present').choices(PULL_POLICIES).default('if-not-present');
}

function runtimePullPolicyOption(): Option {
  return new Option('--runtime-pull-policy <policy>', 'when to pull the runtime image: always, never or if-not-present').choices(PULL_POLICIES).default('if-not-present');
}

function isolationOption(): Option {
  return new Option('--isolation <type>', 'isolation of the scripts: oci (root default), rootless (default for other users) or chroot').choices(['oci', 'rootless', 'chroot']);
}

export function registerS2I(program: Command): void {
  const s2i = program.command('s2i').description('build application images from source with an S2I builder image (OpenShift Source-to-Image)');

  const build = s2i
    .command('build')
    .description('build SOURCE (directory, git repository or URL) with BUILDER into an image')
    .argument('<source>', 'local directory (copied as it is), local git repository, or git URL (#ref allowed)')
    .argument('<builder>', 'S2I builder image')
    .argument('[tag]', 'name of the output image')
    .option('-e, --env <name=value>', 'environment variable for the scripts and the image (repeatable)', collect, [])
    .option('-i, --inject <src:dst>', 'bind-mount the files of SRC below DST for assemble only; nothing of them stays in the image (repeatable, also ;-separated)', collect, [])
    .option('-E, --environment-file <file>', 'file of NAME=VALUE lines (after .s2i/environment and -e)')
    .option('-s, --scripts-url <url>', 'where to find the S2I scripts: image:///dir, file://dir or http(s)://host/dir')
    .option('-d, --destination <dir>', 'where sources, scripts and artifacts go in the builder (default: label, else /tmp)')
    .option('--context-dir <dir>', 'build only this sub-directory of the source')
    .option('-r, --ref <ref>', 'git ref (branch, tag or commit) to check out; wins over a #ref in the URL')
    .option('--incremental', 'reuse artifacts (save-artifacts) of the previous image of TAG')
    .option('--assemble-user <user>', 'user to run assemble as (default: label io.openshift.s2i.assemble-user, else the builder USER)')
    .option('-u, --allowed-uids <ranges>', 'refuse builders whose user is not a numeric uid in these ranges (e.g. 1-, 1000-2000)')
    .option('--as-dockerfile <path>', 'write a Containerfile and its upload/ context to PATH instead of building')
    .option('--exclude <regex>', 'source paths to leave out ("" for none)', '(^|/)\\.git(/|$)')
    .option('-c, --copy', 'copy a local git repository as a directory, even with --ref')
    .option('--keep-symlinks', 'copy symlinks of a local directory as links instead of following them')
    .option('--ignore-submodules', 'do not check out git submodules')
    .option('--runtime-image <image>', 'base the output on this image: artifacts of the assembled builder are copied into its WORKDIR, then its assemble-runtime runs')
    .option('-a, --runtime-artifact <src[:dst]>', 'with --runtime-image: SRC (absolute, in the assembled builder) goes below DST (a directory relative to the WORKDIR, default .); repeatable, also ;-separated; none: label io.openshift.s2i.assemble-input-files', collect, [])
    .option('--assemble-runtime-user <user>', 'user to run assemble-runtime as (default: label io.openshift.s2i.assemble-runtime-user, else the runtime image USER)')
    .addOption(pullPolicyOption())
    .addOption(runtimePullPolicyOption())
    .addOption(isolationOption())
    .option('--callback-url <url>', 'when the build is over, POST {"success": true|false, "labels": {...}} (JSON) to this http(s) URL, up to 3 attempts')
    .option('--run', 'run the new image once it is built (as tsbuild run IMAGE); its exit status becomes ours')
    .option('-q, --quiet', 'print only the image ID (and warnings)');
  rootOption(registryOptions(build));
  build.action(async (source: string, builder: string, tag: string | undefined, flags: S2IFlags) => {
    if (flags.run && flags.asDockerfile) throw new UserError('--run cannot be used with --as-dockerfile: nothing is built', { exitCode: 2 });
    const { s2iBuild } = await import('../../builder/s2i/index.js');
    const store = await storeFor(flags);
    const progress = plainProgress({ quiet: Boolean(flags.quiet) });
    const onEvent = (ev: S2IEvent) => {
      if (ev.type === 's2i') {
        if (!flags.quiet) process.stderr.write(`---> ${ev.message}\n`);
      } else progress(ev);
    };
    const result = await s2iBuild({
      source,
      builder,
      ...(tag ? { tag } : {}),
      env: flags.env,
      inject: flags.inject,
      ...(flags.environmentFile ? { environmentFile: flags.environmentFile } : {}),
      ...(flags.scriptsUrl ? { scriptsUrl: flags.scriptsUrl } : {}),
      ...(flags.destination ? { destination: flags.destination } : {}),
      ...(flags.contextDir ? { contextDir: flags.contextDir } : {}),
      ...(flags.ref ? { ref: flags.ref } : {}),
      incremental: Boolean(flags.incremental),
      ...(flags.assembleUser ? { assembleUser: flags.assembleUser } : {}),
      ...(flags.allowedUids ? { allowedUids: flags.allowedUids } : {}),
      ...(flags.asDockerfile ? { asDockerfile: flags.asDockerfile } : {}),
      ...(flags.callbackUrl !== undefined ? { callbackUrl: flags.callbackUrl } : {}),
      exclude: flags.exclude ?? '(^|/)\\.git(/|$)',
      copy: Boolean(flags.copy),
      keepSymlinks: Boolean(flags.keepSymlinks),
      ignoreSubmodules: Boolean(flags.ignoreSubmodules),
      pullPolicy: flags.pullPolicy as PullPolicyS2I,
      ...(flags.runtimeImage ? { runtimeImage: flags.runtimeImage } : {}),
      runtimeArtifacts: flags.runtimeArtifact,
      runtimePullPolicy: flags.runtimePullPolicy as PullPolicyS2I,
      ...(flags.assembleRuntimeUser ? { assembleRuntimeUser: flags.assembleRuntimeUser } : {}),
      store,
      puller: storePuller({ registry: toRegistryOptions(flags), signal: interruptSignal() }),
      ...(flags.isolation ? { isolation: flags.isolation as Isolation } : {}),
      signal: interruptSignal(),
      onEvent,
    });
    if (result.dockerfile) process.stdout.write(`Application dockerfile generated in ${result.dockerfile}\n`);
    else process.stdout.write(result.id + '\n');
    if (flags.run && result.id) {
      // S2I's --run: the image starts with its own CMD (the run script); its exit status is ours.
      const { runImage } = await import('../../builder/run-image.js');
      const ran = await runImage(store, result.id, { ...(flags.isolation ? { isolation: flags.isolation as Isolation } : {}), signal: interruptSignal() });
      process.exitCode = ran.exitCode;
    }
  });

  const usage = s2i
    .command('usage')
    .description("print the builder's usage text (runs its usage script)")
    .argument('<builder>', 'S2I builder image')
    .option('-s, --scripts-url <url>', 'where to find the usage script')
    .option('-d, --destination <dir>', 'destination directory in the builder')
    .option('--assemble-user <user>', 'user to run usage as')
    .addOption(pullPolicyOption())
    .addOption(isolationOption());
  rootOption(registryOptions(usage));
  usage.action(async (builder: string, flags: S2IFlags) => {
    const { s2iUsage } = await import('../../builder/s2i/index.js');
    const store = await storeFor(flags);
    await s2iUsage({
      builder,
      ...(flags.scriptsUrl ? { scriptsUrl: flags.scriptsUrl } : {}),
      ...(flags.destination ? { destination: flags.destination } : {}),
      ...(flags.assembleUser ? { assembleUser: flags.assembleUser } : {}),
      pullPolicy: flags.pullPolicy as PullPolicyS2I,
      store,
      puller: storePuller({ registry: toRegistryOptions(flags), signal: interruptSignal() }),
      ...(flags.isolation ? { isolation: flags.isolation as Isolation } : {}),
      signal: interruptSignal(),
      onOutput: (stream, text) => (stream === 'stdout' ? process.stdout : process.stderr).write(text.endsWith('\n') ? text : text + '\n'),
    });
  });
}
