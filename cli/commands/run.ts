// `tsbuild run [--rm] IMAGE [COMMAND...]`: try an image with the builder's own runtime.
import { Option, type Command } from 'commander';
import { collect, rootOption, securityOptions, storeFor } from './common.js';
import { interruptSignal } from '../signals.js';

export function registerRun(program: Command): void {
  const cmd = program
    .command('run')
    .description("run a command in a new container from an image (the container's changes are discarded)")
    .argument('<image>', 'image name or ID')
    .argument('[command...]', 'command and arguments (default: the image CMD)')
    .option('--rm', 'remove the container afterwards (always the case: accepted for podman compatibility)')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('--entrypoint <cmd>', 'override the image ENTRYPOINT ("" clears it)')
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', 'user to run as')
    .addOption(new Option('--network <mode>', 'network: host (default), private (loopback only) or none').choices(['host', 'private', 'none']).default('host'))
    .option('--security-opt <opt>', 'seccomp=unconfined runs without the default syscall filter (repeatable)', collect, [])
    .addOption(new Option('--isolation <mode>', 'oci (root default), rootless (non-root default) or chroot').choices(['oci', 'rootless', 'chroot']))
    .passThroughOptions()
    .addHelpText('after', '\nExamples:\n  tsbuild run my-app\n  tsbuild run --rm busybox sh -c "id; ls /"\n  tsbuild run -e GREETING=hi --network none my-app');
  rootOption(cmd);
  cmd.action(async (image: string, command: string[], flags: { root?: string; env: string[]; entrypoint?: string; workdir?: string; user?: string; network: 'host' | 'private' | 'none'; isolation?: 'oci' | 'rootless' | 'chroot'; securityOpt: string[] }) => {
    const { runImage } = await import('../../builder/run-image.js');
    const store = await storeFor(flags);
    const result = await runImage(store, image, {
      command,
      env: flags.env,
      entrypoint: flags.entrypoint,
      workdir: flags.workdir,
      user: flags.user,
      network: flags.network,
      isolation: flags.isolation,
      ...securityOptions(flags.securityOpt),
      signal: interruptSignal(),
    });
    // podman's convention: the container's exit code becomes ours.
    process.exitCode = result.exitCode;
  });
}
