// `tsbuild info`: the store, and which isolation modes work here (and, for each that does not, why).
import { release, userInfo } from 'node:os';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { VERSION } from '../version.js';

function overlayAvailable(): boolean {
  try {
    return readFileSync('/proc/filesystems', 'utf8').split('\n').some((l) => l.trim().endsWith('overlay'));
  } catch {
    return false;
  }
}

function hasSubIds(file: string, user: string, uid: number): boolean {
  try {
    return readFileSync(file, 'utf8').split('\n').some((l) => l.startsWith(`${user}:`) || l.startsWith(`${uid}:`));
  } catch {
    return false;
  }
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show the store, the kernel features used, and which isolation modes work here')
    .option('--root <dir>', 'storage root directory')
    .option('--format <format>', 'json for machine-readable output')
    .action(async (flags: { root?: string; format?: string }) => {
      const [{ defaultStoreRoot }, { defaultIsolation }, { detectIsolation, nativeAvailable }] = await Promise.all([import('../../cache/store.js'), import('../../builder/steps/run-options.js'), import('../../native/index.js')]);
      const uid = process.getuid?.() ?? 0;
      const user = userInfo().username;
      const isolation = detectIsolation();
      const info = {
        version: VERSION,
        store: flags.root ?? defaultStoreRoot(),
        user: { uid, name: user, subuid: hasSubIds('/etc/subuid', user, uid), subgid: hasSubIds('/etc/subgid', user, uid) },
        kernel: release(),
        nativeAddon: nativeAvailable(),
        overlay: overlayAvailable(),
        defaultIsolation: defaultIsolation(),
        isolation,
      };
      if (flags.format === 'json') {
        process.stdout.write(JSON.stringify(info, null, 2) + '\n');
        return;
      }
      const line = (k: string, v: string) => process.stdout.write(`${(k + ':').padEnd(20)}${v}\n`);
      line('version', info.version);
      line('store', info.store);
      line('user', `${user} (uid ${uid})${uid !== 0 ? `, subuid ranges: ${info.user.subuid ? 'yes' : 'no'}` : ''}`);
      line('kernel', info.kernel);
      line('native addon', info.nativeAddon ? 'loaded' : 'missing (run "npm run build:native")');
      line('overlayfs', info.overlay ? 'available' : 'missing');
      line('default isolation', info.defaultIsolation);
      for (const [mode, probe] of Object.entries(isolation)) line(`isolation ${mode}`, probe.ok ? 'works' : `does not work: ${probe.why}`);
    });
}
