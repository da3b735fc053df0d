// `tsbuild build [CONTEXT]`: flags named as buildah's. What the command does is in build-action.ts,
// loaded when it runs (see cli/main.ts).
import { Option, type Command } from 'commander';
import { progressOptions, withProgress } from '../progress.js';
import { collect, goBooleanOptions, refusedOptions, rootOption } from './common.js';
import { registryOptions, type RegistryFlags } from './registry-flags.js';

export interface BuildFlags extends RegistryFlags {
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
  securityOpt: string[];
  cache: boolean;
  /** --no-cache-filter (commander names a --no-* option after what follows --no-). */
  cacheFilter: string[];
  /** buildah's --layers: false runs every step (as --no-cache); true or unset, the cache is used. */
  layers?: boolean;
  cacheTo?: string;
  cacheFrom?: string;
  progress?: string;
  logfile?: string;
}

export function registerBuild(program: Command): void {
  const cmd = program
    .command('build')
    .alias('bud')
    .description('build an image from a Containerfile')
    .argument('[context]', 'build context directory', '.')
    .option('-t, --tag <name>', 'name the image (repeatable)', collect, [])
    .option('-f, --file <path>', 'Containerfile to use, - for standard input (default: CONTEXT/Containerfile, else CONTEXT/Dockerfile)')
    .option('--build-arg <arg>', 'build argument K=V, or K to take it from the environment (repeatable)', collect, [])
    .option('--target <stage>', 'build this stage and the stages it needs, not the last one')
    .addOption(new Option('--format <format>', 'manifest and config format').choices(['oci', 'docker']).default('oci'))
    .addOption(new Option('--compression-format <format>', 'layer compression (zstd needs --format oci)').choices(['gzip', 'zstd', 'none']))
    .option('--compression-level <n>', 'compression level: gzip 0-9 (default 1), zstd 1-19 (default 3)')
    .option('--timestamp <seconds>', 'set created times and every file mtime to this time, for reproducible images')
    .option('--iidfile <file>', 'write the image ID to this file')
    .option('--label <key=value>', 'add a label to the image; a bare key gets an empty value (repeatable)', collect, [])
    .option('--annotation <key=value>', 'add a manifest annotation; a bare key gets an empty value (repeatable)', collect, [])
    .option('--ignorefile <file>', 'ignore file to use instead of .containerignore/.dockerignore')
    .option('--platform <os/arch>', 'target platform (default: this machine)')
    .addOption(new Option('--pull <policy>', 'pull base images: missing, always or never').choices(['missing', 'always', 'never', 'true', 'false']).default('missing'))
    .option('--jobs <n>', 'how many stages may run at once')
    .option('-q, --quiet', 'print only the image ID')
    .option('--push', 'after a successful build, push every -t name to its registry')
    .addOption(new Option('--isolation <type>', 'RUN isolation: oci (root default), rootless (default for other users) or chroot; default also from $TSBUILD_ISOLATION').choices(['oci', 'rootless', 'chroot']))
    .addOption(new Option('--network <mode>', 'RUN network: host (default), private (own namespace, loopback only) or none').choices(['host', 'private', 'none', 'default']))
    .option('--security-opt <opt>', 'seccomp=unconfined runs RUN steps without the default syscall filter (repeatable)', collect, [])
    .option('--secret <spec>', 'secret for RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VAR (repeatable)', collect, [])
    .option('--no-cache', 'run every step instead of using the build cache (results are still cached)')
    .option('--no-cache-filter <stage>', 'run every step of this stage, by name or index (repeatable)', collect, [])
    .option('--cache-to <ref>', 'after the build, write its cache entries as an image to this registry repository (or oci:DIR)')
    .option('--cache-from <ref>', 'use cache entries written by --cache-to (layers are fetched only when needed)')
    .option('--digestfile <file>', 'write the manifest digest (of the first push, with --push) to this file')
    .addHelpText('after', '\nExamples:\n  tsbuild build -t my-nginx .\n  tsbuild build -f Containerfile.dev --build-arg VERSION=2 --target test -t app:test .\n  SOURCE_DATE_EPOCH=0 tsbuild build --timestamp 0 -t repro .\n  tsbuild build --progress=plain --logfile build.log -t app .   # CI: full step output in a file\n  tsbuild build --progress=json -t app . 2> events.jsonl          # one event object per line\n  tsbuild build -q -t app .                                      # only the image ID\n  tsbuild build --isolation chroot -t app .                      # pods without CAP_SYS_ADMIN');
  goBooleanOptions(cmd, [
    { name: 'layers', description: 'for buildah scripts: steps are always cached; --layers=false runs every step, as --no-cache' },
    { name: 'rm', description: 'for buildah scripts, no effect: tsbuild makes no intermediate containers to remove' },
    { name: 'force-rm', description: 'for buildah scripts, no effect (see --rm)' },
  ]);
  refusedOptions(cmd, [
    { flags: '--squash', why: 'tsbuild writes one layer per step and does not merge them' },
    { flags: '-v, --volume <spec>', why: 'RUN steps cannot bind host directories; use RUN --mount=type=bind with a source in the build context' },
    { flags: '--add-host <host:ip>', why: 'RUN steps get a fixed /etc/hosts with the loopback names only' },
  ]);
  rootOption(registryOptions(progressOptions(cmd)));
  cmd.action(async (context: string, flags: BuildFlags) => {
    const { buildAction } = await import('./build-action.js');
    await withProgress({ mode: flags.progress, quiet: flags.quiet, logfile: flags.logfile }, (progress) => buildAction(context, flags, progress));
  });
}

