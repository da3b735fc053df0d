// Times the two halves of a context COPY apart: planning (walk + destination lookups) and writing
// the layer (tar + digests + compression + blob). Usage (after `npm run build:ts`):
//   node dist/bench/micro/copy-phases.js STORE_ROOT CONTEXT_DIR [gzip|zstd|none] [level]
// STORE_ROOT must hold the base image's snapshot (any store the harness used will do).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RootfsView } from '../../cache/rootfs-view.js';
import { BlobStore } from '../../cache/blobs.js';
import { writeLayer } from '../../cache/layer-write.js';
import { ContextSource, planCopy } from '../../builder/steps/copy.js';

const [root, context, compression = 'gzip', level] = process.argv.slice(2);
if (!root || !context) throw new Error('usage: copy-phases STORE_ROOT CONTEXT_DIR [gzip|zstd|none] [level]');
const snapDir = join(root, 'snapshots');
// The smallest snapshot is the busybox base: good enough as the destination of the COPY.
const base = readdirSync(snapDir).filter((n) => n.length === 64).map((n) => join(snapDir, n, 'fs'))[0]!;

const t0 = performance.now();
const cpu0 = process.cpuUsage();
const entries = await planCopy(
  { sources: ['.'], dest: '/app', workdir: '/', location: { file: 'Containerfile', line: 1, column: 1 } as never },
  new ContextSource(context),
  new RootfsView([base]),
  { now: 1_700_000_000 },
);
const t1 = performance.now();
const cpu1 = process.cpuUsage(cpu0);
const blob = await writeLayer(entries, new BlobStore(join(root, 'blobs'), join(root, 'tmp')), {
  compression: compression as 'gzip',
  level: level === undefined ? undefined : Number(level),
});
const t2 = performance.now();
const cpu2 = process.cpuUsage(cpu0);
const s = (us: number) => (us / 1e6).toFixed(2);
console.log(`entries ${entries.length}; plan ${((t1 - t0) / 1000).toFixed(2)} s (cpu ${s(cpu1.user + cpu1.system)}); ` +
  `write ${((t2 - t1) / 1000).toFixed(2)} s (cpu ${s(cpu2.user + cpu2.system - cpu1.user - cpu1.system)}); ${blob.size} bytes ${blob.digest}`);
