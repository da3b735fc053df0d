// `npm run bench [-- options]`: builds W1–W7 with tsbuild and buildah, interleaved, on a dedicated
// loop-mounted ext4, checks every image's content, prints one table and writes the raw runs as JSON.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeBusyboxImage } from '../test/helpers/busybox-image.js';
import { Buildah, Tsbuild, type Builder } from './builders.js';
import { diskProbeSeconds } from './disk-probe.js';
import { prepareFs, unmountAll } from './loopfs.js';
import { snapshotTsbuild } from './snapshot.js';
import { summarize, table, toRaw, type RawRun } from './report.js';
import { FULL, QUICK, workloads, type Env } from './workloads.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..');

const USAGE = `usage: npm run bench -- [--quick] [--runs N] [--only W1,W2,...] [--image FILE] [--mount DIR]
  [--size 20G] [--registry-image FILE] [--registry-mount DIR] [--registry-size 12G] [--reuse-fs] [--keep-mounted] [--isolation oci|chroot] [--json FILE] [--tsbuild-arg ARG]...
  [--tsbuild-only]   (development: skip buildah; the table then has no ratios)`;

const { values: o } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    only: { type: 'string' },
    image: { type: 'string', default: '/var/tmp/tsbuild-bench.img' },
    mount: { type: 'string', default: '/mnt/tsbuild-bench' },
    size: { type: 'string', default: '20G' },
    'registry-image': { type: 'string', default: '/var/tmp/tsbuild-bench-registry.img' },
    'registry-mount': { type: 'string', default: '/mnt/tsbuild-bench-registry' },
    'registry-size': { type: 'string', default: '12G' },
    'reuse-fs': { type: 'boolean', default: false },
    'keep-mounted': { type: 'boolean', default: false },
    isolation: { type: 'string', default: 'oci' },
    json: { type: 'string' },
    'tsbuild-arg': { type: 'string', multiple: true, default: [] },
    'tsbuild-only': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (o.help) {
  console.log(USAGE);
  process.exit(0);
}
if (process.getuid?.() !== 0) {
  console.error('the benchmark needs root (loop mounts, buildah with overlay storage)');
  process.exit(2);
}

const log = (s: string) => process.stderr.write(s + '\n');
const runs = Number(o.runs ?? (o.quick ? 1 : 3));
const only = o.only ? new Set(o.only.split(',').map((s) => s.trim().toUpperCase())) : undefined;
const jsonOut = resolve(o.json ?? join(REPO, 'bench', 'results', o.quick ? 'quick.json' : 'latest.json'));

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim().split('\n')[0]!;
  } catch {
    return '?';
  }
}

/** This run's directory on a bench file system: a new one beside earlier runs' with --reuse-fs. */
function runDir(mount: string): string {
  const dir = o['reuse-fs'] ? join(mount, `run-${Date.now()}`) : join(mount, 'run');
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function main(): Promise<void> {
  const fs = prepareFs(o.image!, o.mount!, o.size!, o['reuse-fs']!);
  const base = runDir(fs.mount);
  log(`bench file system: ${fs.description}; working in ${base}`);
  // W7's registries get a file system of their own, as a registry on another host has its own disk:
  // on the builders' one, by W7 filled and fragmented by every build before it, the registry's
  // writes of the same blob took up to twice as long (bench/README.md, "How it measures").
  const regFs = prepareFs(o['registry-image']!, o['registry-mount']!, o['registry-size']!, o['reuse-fs']!);
  const regBase = runDir(regFs.mount);
  log(`registry file system: ${regFs.description}`);

  const snap = snapshotTsbuild(REPO, `/var/tmp/tsbuild-bench-dist-${process.pid}`);
  const ts = new Tsbuild(join(base, 'tsbuild'), snap.command, o['tsbuild-arg']!);
  const bah = new Buildah(join(base, 'buildah'), o.isolation === 'chroot' ? 'chroot' : 'oci');
  const builders: Builder[] = o['tsbuild-only'] ? [ts] : [ts, bah];

  log('making the busybox base image (umoci + skopeo) and importing it into both stores');
  const bb = makeBusyboxImage();
  const archive = join(base, 'busybox-docker.tar');
  copyFileSync(bb.dockerArchive, archive);
  bb.cleanup();
  for (const b of builders) b.importBase(archive, 'localhost/bench-base:latest');

  const env: Env = { dir: join(base, 'data'), registryDir: join(regBase, 'registry'), sizes: o.quick ? QUICK : FULL, base: 'localhost/bench-base:latest', builders, built: new Set(), diskProbeAtStart: diskProbeSeconds() };
  const raw: RawRun[] = [];
  const checks: { workload: string; builder: string; problems: string[] }[] = [];
  try {
    for (const w of workloads()) {
      if (only && !only.has(w.id)) continue;
      log(`${w.id}: ${w.title} — preparing`);
      await w.prepare(env);
      for (let i = 0; i < runs; i++) {
        await w.beforeRound?.(env, i);
        // A B A B: both builders see the same state of the machine in every round.
        for (const b of builders) {
          execFileSync('sync'); // the previous run's dirty pages must not be written back on this one's clock
          for (const t of await w.round(env, i, b)) {
            raw.push(toRaw(w.id, t.row, b.name, i, t.m));
            log(`  ${t.row} round ${i + 1}/${runs} ${b.name}: ${t.m.wallSeconds.toFixed(2)} s, ${t.m.peakRssMiB.toFixed(0)} MiB`);
          }
        }
      }
      if (w.tag) env.built.add(w.tag);
      for (const b of builders) {
        const problems = await w.check(env, b);
        checks.push({ workload: w.id, builder: b.name, problems });
        log(`  check ${b.name}: ${problems.length === 0 ? 'content ok' : 'WRONG: ' + problems.join('; ')}`);
      }
    }
  } finally {
    snap.remove();
    bah.cleanup();
    if (!o['keep-mounted']) {
      unmountAll(fs.mount);
      unmountAll(regFs.mount);
    }
  }

  const summary = summarize(raw);
  const machine = {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? '?',
    memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    node: process.version,
    buildah: version('buildah', ['--version']),
    tsbuild: version('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']),
  };
  const result = {
    date: new Date().toISOString(), quick: o.quick, runs, fs: fs.description, registryFs: regFs.description, buildahIsolation: o.isolation,
    tsbuildArgs: o['tsbuild-arg'], machine, summary, checks, raw,
  };
  mkdirSync(dirname(jsonOut), { recursive: true });
  writeFileSync(jsonOut, JSON.stringify(result, null, 2) + '\n');

  console.log(`\n${machine.cpus} × ${machine.model}, ${machine.memGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}, ${machine.buildah}`);
  console.log(`storage: ${fs.description}; registries (W7): ${regFs.description}; ${runs} run(s) each, interleaved tsbuild/buildah${o.quick ? ' (quick sizes)' : ''}\n`);
  console.log(table(summary));
  const wrong = checks.filter((c) => c.problems.length > 0);
  console.log(wrong.length === 0 ? '\nevery image checked: content ok' : `\nWRONG CONTENT: ${wrong.map((c) => `${c.workload}/${c.builder}: ${c.problems[0]}`).join('; ')}`);
  console.log(`raw runs: ${jsonOut}`);
  if (wrong.length > 0) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
