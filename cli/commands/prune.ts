// `tsbuild prune`: remove dangling images, build cache entries, and the blobs and snapshots nothing
// uses any more (buildah prune / docker builder prune). Nothing a running build uses is removed.
import { Option, type Command } from 'commander';
import { parseDuration } from '../../builder/containerfile/duration.js';
import { UserError } from '../../oci/errors.js';
import { collect, rootOption, storeFor } from './common.js';
import { formatBytes } from '../progress-format.js';

interface PruneFlags {
  all?: boolean;
  filter: string[];
  keepStorage?: string;
  root?: string;
}

/** `until=24h` (a Go duration), or `until=` an RFC 3339 time / Unix seconds: age in ms. */
function untilMs(filters: string[], now: number): number | undefined {
  let out: number | undefined;
  for (const f of filters) {
    const eq = f.indexOf('=');
    const key = eq < 0 ? f : f.slice(0, eq);
    const value = eq < 0 ? '' : f.slice(eq + 1);
    if (key !== 'until') throw new UserError(`unsupported --filter "${f}": only until=DURATION is supported`);
    if (/^\d+(\.\d+)?$/.test(value)) out = now - Number(value) * 1000;
    else if (/^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(Date.parse(value))) out = now - Date.parse(value);
    else {
      let ns: number;
      try {
        ns = parseDuration(value);
      } catch {
        throw new UserError(`invalid --filter until="${value}": expected a duration such as 24h or 90m, or a timestamp`);
      }
      if (ns < 0) throw new UserError(`invalid --filter until="${value}": negative duration`);
      out = ns / 1e6;
    }
  }
  return out;
}

export function registerPrune(program: Command): void {
  const cmd = program
    .command('prune')
    .description('remove dangling images, build cache, and blobs and snapshots nothing uses')
    .option('-a, --all', 'remove every image (not only dangling ones), cache mounts and context stat caches too')
    .option('--filter <filter>', 'only what was last used before: until=24h (repeatable)', collect, [])
    .addOption(new Option('--keep-storage <size>', 'keep the most recently used build cache up to this size (e.g. 10GB)'))
    .addHelpText('after', '\nExamples:\n  tsbuild prune\n  tsbuild prune --filter until=24h\n  tsbuild prune --keep-storage 5GB\n  tsbuild prune --all');
  rootOption(cmd);
  cmd.action(async (flags: PruneFlags) => {
    const { parseSize, prune } = await import('../../cache/gc.js');
    const now = Date.now();
    const until = untilMs(flags.filter, now);
    let keepStorage: number | undefined;
    if (flags.keepStorage !== undefined) {
      keepStorage = parseSize(flags.keepStorage);
      if (keepStorage === undefined) throw new UserError(`invalid --keep-storage "${flags.keepStorage}": expected a size such as 10GB or 512MB`);
    }
    const store = await storeFor(flags);
    const r = await prune(store, { all: flags.all, untilMs: until, keepStorage, now });
    for (const id of r.images) process.stdout.write(`${id}\n`);
    for (const n of r.notes) process.stderr.write(`note: ${n}\n`);
    process.stderr.write(`Deleted ${r.images.length} images, ${r.cacheEntries} cache entries, ${r.blobs} blobs, ${r.snapshots} snapshots\n`);
    process.stderr.write(`Total reclaimed space: ${formatBytes(r.bytes)}\n`);
  });
}
