// pull and push: copying images between the store and a transport.
import type { Command } from 'commander';
import { requireImage } from '../../cache/lookup.js';
import { pullImage, pushImage } from '../../registry/api.js';
import { Option } from 'commander';
import { rootOption, storeFor } from './common.js';

export function registerTransferCommands(program: Command): void {
  rootOption(
    program
      .command('pull')
      .description('copy an image into local storage')
      .argument('<source>', 'oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME], docker://REF, or a registry reference')
      .option('-q, --quiet', 'print only the image ID')
      .addHelpText('after', '\nExamples:\n  tsbuild pull oci-archive:busybox.tar\n  tsbuild pull docker-archive:saved.tar:busybox:latest\n  tsbuild pull docker://registry.example/team/app:1.2'),
  ).action(async (source: string, flags: { root?: string; quiet?: boolean }) => {
    const store = await storeFor(flags);
    const { record } = await pullImage(store, source, {
      onProgress: flags.quiet ? undefined : (line) => process.stderr.write(line + '\n'),
    });
    process.stdout.write(record.id + '\n');
  });

  rootOption(
    program
      .command('push')
      .description('copy an image from local storage to a destination')
      .argument('<image>', 'image name or ID in local storage')
      .argument('[destination]', 'oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME] or docker://REF (default: the image name in its registry)')
      .addOption(new Option('--format <format>', 'manifest format to write').choices(['oci', 'docker']))
      .option('--digestfile <file>', 'write the pushed manifest digest to this file')
      .option('-q, --quiet', 'print nothing but errors')
      .addHelpText('after', '\nExamples:\n  tsbuild push my-app oci:/tmp/layout:my-app\n  tsbuild push my-app docker-archive:/tmp/my-app.tar:my-app:latest\n  tsbuild push my-app docker://localhost:5000/my-app:1'),
  ).action(async (image: string, destination: string | undefined, flags: { root?: string; format?: 'oci' | 'docker'; digestfile?: string; quiet?: boolean }) => {
    const store = await storeFor(flags);
    const rec = await requireImage(store, image);
    const dest = destination ?? 'docker://' + (rec.names[0] ?? image);
    const result = await pushImage(store, rec, dest, {
      format: flags.format,
      onProgress: flags.quiet ? undefined : (line) => process.stderr.write(line + '\n'),
    });
    if (flags.digestfile) {
      const { writeFile } = await import('node:fs/promises');
      await writeFile(flags.digestfile, result.manifestDigest);
    }
  });
}
