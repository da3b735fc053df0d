// `tsbuild check-store` (alias fsck): re-hash every blob and follow every reference of the store;
// print one line per problem and exit 1 when there is any.
import type { Command } from 'commander';
import { rootOption, storeFor } from './common.js';

export function registerCheckStore(program: Command): void {
  rootOption(
    program
      .command('check-store')
      .alias('fsck')
      .description('verify the store: re-hash every blob, follow every image, snapshot and cache reference')
      .option('-q, --quiet', 'print only problems'),
  ).action(async (flags: { root?: string; quiet?: boolean }) => {
    const { checkStore } = await import('../../cache/check-store.js');
    const store = await storeFor(flags);
    const r = await checkStore(store);
    for (const p of r.problems) process.stdout.write(`corrupt: ${p}\n`);
    const c = r.checked;
    if (!flags.quiet) process.stderr.write(`checked ${c.blobs} blobs, ${c.images} images, ${c.snapshots} snapshots, ${c.cacheEntries} cache entries: ${r.problems.length === 0 ? 'no problems' : `${r.problems.length} problems`}\n`);
    if (r.problems.length > 0) process.exitCode = 1;
  });
}
