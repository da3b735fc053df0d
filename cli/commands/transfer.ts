// pull and push: copying images between the store and a transport.
import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { interruptSignal } from '../signals.js';
import { rootOption, storeFor } from './common.js';
import { platformFlag, registryOptions, toRegistryOptions, type RegistryFlags } from './registry-flags.js';
import { progressOptions, withProgress } from '../progress.js';

interface PullFlags extends RegistryFlags {
  root?: string;
  quiet?: boolean;
  platform?: string;
  progress?: string;
  logfile?: string;
}

interface PushFlags extends RegistryFlags {
  root?: string;
  format?: 'oci' | 'docker';
  digestfile?: string;
  quiet?: boolean;
  progress?: string;
  logfile?: string;
}

export function registerTransferCommands(program: Command): void {
  rootOption(
    registryOptions(progressOptions(
      program
        .command('pull')
        .description('copy an image into local storage')
        .argument('<source>', 'oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME], docker://REF, or a registry reference (short names are resolved by registries.conf)')
        .option('--platform <os/arch[/variant]>', 'which image of a multi-platform index to pull (default: this machine)')
        .option('-q, --quiet', 'print only the image ID'),
    )).addHelpText('after', '\nExamples:\n  tsbuild pull oci-archive:busybox.tar\n  tsbuild pull docker-archive:saved.tar:busybox:latest\n  tsbuild pull --creds user:pass registry.example/team/app:1.2\n  tsbuild pull --tls-verify=false localhost:5000/busybox'),
  ).action(async (source: string, flags: PullFlags) => {
    const platform = platformFlag(flags.platform);
    const { pullImage } = await import('../../registry/api.js');
    const store = await storeFor(flags);
    const { record } = await withProgress({ mode: flags.progress, quiet: flags.quiet, logfile: flags.logfile }, (progress) =>
      // Ctrl-C stops the copy cleanly: nothing half-stored, exit 130 (a second Ctrl-C exits at once).
      pullImage(store, source, { platform, registry: toRegistryOptions(flags), onEvent: progress.event, signal: interruptSignal() }),
    );
    process.stdout.write(record.id + '\n');
  });

  rootOption(
    registryOptions(progressOptions(
      program
        .command('push')
        .description('copy an image from local storage to a destination')
        .argument('<image>', 'image name or ID in local storage')
        .argument('[destination]', 'oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME] or [docker://]REF (default: the image name in its registry)')
        .addOption(new Option('--format <format>', "manifest format to write (default: the image's own, converted to OCI for oci: and oci-archive:, to Docker for docker-archive:)").choices(['oci', 'docker']))
        .option('--digestfile <file>', 'write the pushed manifest digest to this file')
        .option('-q, --quiet', 'print nothing but errors'),
    )).addHelpText('after', '\nExamples:\n  tsbuild push my-app oci:/tmp/layout:my-app\n  tsbuild push my-app docker-archive:/tmp/my-app.tar:my-app:latest\n  tsbuild push --creds user:pass my-app docker://localhost:5000/my-app:1'),
  ).action(async (image: string, destination: string | undefined, flags: PushFlags) => {
    const [{ requireImageMatch }, { pushImage }] = await Promise.all([import('../../cache/lookup.js'), import('../../registry/api.js')]);
    const store = await storeFor(flags);
    const { record: rec, name } = await requireImageMatch(store, image);
    // No destination: the name given (podman's rule), not whichever name the image happens to list first.
    const dest = destination ?? 'docker://' + (name ?? rec.names[0] ?? image);
    const result = await withProgress({ mode: flags.progress, quiet: flags.quiet, logfile: flags.logfile }, (progress) =>
      pushImage(store, rec, dest, { name, format: flags.format, registry: toRegistryOptions(flags), onEvent: progress.event, signal: interruptSignal() }),
    );
    if (flags.digestfile) writeFileSync(flags.digestfile, result.manifestDigest);
  });
}
