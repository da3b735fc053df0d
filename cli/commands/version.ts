// `tsbuild version`: what is running, as `podman version` reports it (plain or --format json).
import { arch, platform, release } from 'node:os';
import type { Command } from 'commander';
import { VERSION } from '../version.js';

export async function versionInfo() {
  // The addon is loaded here, not when the CLI starts: other commands that never need it skip its cost.
  const { nativeAvailable } = await import('../../native/index.js');
  return {
    Version: VERSION,
    NodeVersion: process.version,
    OsArch: `${platform()}/${arch()}`,
    Kernel: release(),
    NativeAddon: nativeAvailable(),
  };
}

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('print the version of tsbuild and of what it runs on')
    .option('--format <format>', '"json" for machine-readable output')
    .addHelpText('after', '\nExamples:\n  tsbuild version\n  tsbuild version --format json\n  tsbuild --version      # just the number')
    .action(async (flags: { format?: string }) => {
      const v = await versionInfo();
      if (flags.format === 'json') {
        process.stdout.write(JSON.stringify(v, null, 2) + '\n');
        return;
      }
      const line = (k: string, val: string) => process.stdout.write(`${(k + ':').padEnd(14)}${val}\n`);
      line('Version', v.Version);
      line('Node.js', v.NodeVersion);
      line('OS/Arch', v.OsArch);
      line('Kernel', v.Kernel);
      line('Native addon', v.NativeAddon ? 'loaded' : 'missing (run "npm run build:native")');
    });
}
