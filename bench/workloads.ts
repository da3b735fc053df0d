// W1–W7: what each workload builds, what is timed, and what the built image must contain.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, utimesSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Builder } from './builders.js';
import type { Measured } from './measure.js';
import { FIXED_MTIME, fixDirTimes, writeCompressibleFile, writeManySmall, writeRandomFile } from './gen.js';
import { diffTrees, fileDigest, treeFromLayout, type Expected } from './tree.js';
import { startRegistry } from './registry.js';
import { diskProbeSeconds } from './disk-probe.js';

export interface Sizes {
  w1Files: number;
  w2Bytes: number;
  w3FilesPerStep: number;
  /** Iterations of a busybox shell loop: ~2 s of one core at 900k here. */
  w4Loop: number;
}

export const FULL: Sizes = { w1Files: 20_000, w2Bytes: 512 << 20, w3FilesPerStep: 2_000, w4Loop: 900_000 };
export const QUICK: Sizes = { w1Files: 2_000, w2Bytes: 16 << 20, w3FilesPerStep: 200, w4Loop: 50_000 };

export interface Env {
  /** Workload data on the bench file system. */
  dir: string;
  /** Where W7's registries keep their data: a file system of their own. */
  registryDir: string;
  sizes: Sizes;
  /** Base image name both stores know. */
  base: string;
  builders: Builder[];
  /** Images already built (by tag) in both stores, so later workloads can depend on earlier ones. */
  built: Set<string>;
  /** diskProbeSeconds() before the first workload: what W7's probes compare with. */
  diskProbeAtStart?: number;
}

export interface Timed {
  row: string;
  m: Measured;
}

export interface Workload {
  id: string;
  /** The image the timed rounds leave in both stores, if any. */
  tag?: string;
  title: string;
  prepare(env: Env): Promise<void>;
  /** Untimed work before round `i` (e.g. editing the context), shared by both builders. */
  beforeRound?(env: Env, i: number): Promise<void>;
  round(env: Env, i: number, b: Builder): Promise<Timed[]>;
  /** Problems with what `b` built (empty when right). */
  check(env: Env, b: Builder): Promise<string[]>;
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function containerfile(dir: string, text: string): string {
  const f = join(dir, 'Containerfile');
  writeFileSync(f, text);
  return f;
}

/** Build `tag` in every store unless it is there already (for workloads that start from another's image). */
async function ensureBuilt(env: Env, w: Workload): Promise<void> {
  await w.prepare(env);
  if (env.built.has(w.tag!)) return;
  for (const b of env.builders) await w.round(env, -1, b);
  env.built.add(w.tag!);
}

async function checkTree(b: Builder, env: Env, tag: string, prefixes: string[], expected: Expected): Promise<string[]> {
  const scratch = join(env.dir, 'check');
  mkdirSync(scratch, { recursive: true });
  return diffTrees(expected, await b.tree(tag, prefixes, scratch));
}

// ---------------------------------------------------------------- W1 many-small
class ManySmall implements Workload {
  readonly id: string = 'W1';
  readonly title: string = '20,000 files of 1–8 KiB, COPY . /app';
  protected files?: Map<string, Buffer>;
  protected file = '';
  protected ctx = '';
  constructor(protected readonly sub = 'w1', readonly tag = 'bench-w1') {}

  async prepare(env: Env): Promise<void> {
    if (this.files) return;
    const root = join(env.dir, this.sub);
    this.ctx = join(root, 'context');
    rmSync(root, { recursive: true, force: true });
    mkdirSync(this.ctx, { recursive: true });
    this.files = writeManySmall(this.ctx, env.sizes.w1Files, 1);
    fixDirTimes(this.ctx); // directory mtimes go into the layer too: same context, same bytes
    this.file = containerfile(root, `FROM ${env.base}\nCOPY . /app\n`);
  }

  async round(_env: Env, _i: number, b: Builder): Promise<Timed[]> {
    return [{ row: this.id, m: await b.build({ context: this.ctx, file: this.file, tag: this.tag, noCache: true }) }];
  }

  expected(): Expected {
    return new Map([...this.files!].map(([p, d]) => [`app/${p}`, sha(d)]));
  }

  check(env: Env, b: Builder): Promise<string[]> {
    return checkTree(b, env, this.tag, ['app'], this.expected());
  }
}

// ---------------------------------------------------------------- W5 one-change rebuild
class OneChange extends ManySmall {
  override readonly id = 'W5';
  override readonly title = 'W1 built, one file changed, rebuilt';
  private changed = '';
  constructor() {
    super('w5', 'bench-w5');
  }

  override async prepare(env: Env): Promise<void> {
    if (this.files) return;
    await super.prepare(env);
    this.changed = [...this.files!.keys()].sort()[Math.floor(this.files!.size / 2)]!;
    // The untimed first build: what W5 measures is the rebuild after an edit, with warm caches.
    for (const b of env.builders) await b.build({ context: this.ctx, file: this.file, tag: this.tag });
  }

  async beforeRound(_env: Env, i: number): Promise<void> {
    const data = Buffer.concat([Buffer.from(`// edited for round ${i}\n`), this.files!.get(this.changed)!]);
    this.files!.set(this.changed, data);
    const p = join(this.ctx, this.changed);
    writeFileSync(p, data);
    // A new mtime as an editor would leave, so stat caches must notice.
    utimesSync(p, FIXED_MTIME + 1000 + i, FIXED_MTIME + 1000 + i);
  }

  override async round(_env: Env, _i: number, b: Builder): Promise<Timed[]> {
    return [{ row: this.id, m: await b.build({ context: this.ctx, file: this.file, tag: this.tag }) }];
  }
}

// ---------------------------------------------------------------- W2 big-file
class BigFile implements Workload {
  readonly id = 'W2';
  readonly title = '512 MiB incompressible + 512 MiB compressible file, COPY';
  private ctx = '';
  private file = '';
  readonly tag = 'bench-w2';
  readonly digests = new Map<string, string>();

  async prepare(env: Env): Promise<void> {
    if (this.ctx) return;
    const root = join(env.dir, 'w2');
    this.ctx = join(root, 'context');
    rmSync(root, { recursive: true, force: true });
    writeRandomFile(join(this.ctx, 'random.bin'), env.sizes.w2Bytes, 2);
    writeCompressibleFile(join(this.ctx, 'app.log'), env.sizes.w2Bytes, 3);
    this.digests.set('data/random.bin', await fileDigest(join(this.ctx, 'random.bin')));
    this.digests.set('data/app.log', await fileDigest(join(this.ctx, 'app.log')));
    fixDirTimes(this.ctx);
    this.file = containerfile(root, `FROM ${env.base}\nCOPY . /data\n`);
  }

  async round(_env: Env, _i: number, b: Builder): Promise<Timed[]> {
    return [{ row: this.id, m: await b.build({ context: this.ctx, file: this.file, tag: 'bench-w2', noCache: true }) }];
  }

  check(env: Env, b: Builder): Promise<string[]> {
    return checkTree(b, env, 'bench-w2', ['data'], this.digests);
  }
}

// ---------------------------------------------------------------- W3 run-heavy / W6 no-op rebuild
class RunHeavy implements Workload {
  readonly id: string = 'W3';
  readonly tag = 'bench-w3';
  readonly title: string = '6 RUN steps, each writing 2,000 files and deleting some earlier ones';
  protected file = '';
  protected ctx = '';
  static readonly STEPS = 6;

  async prepare(env: Env): Promise<void> {
    if (this.file) return;
    const root = join(env.dir, 'w3');
    this.ctx = join(root, 'context');
    mkdirSync(this.ctx, { recursive: true });
    fixDirTimes(this.ctx);
    const n = env.sizes.w3FilesPerStep;
    const lines = [`FROM ${env.base}`];
    for (let k = 1; k <= RunHeavy.STEPS; k++) {
      // Builtins only inside the loop (echo, read, redirection): the work is file creation, not fork.
      const del = k > 1 ? ` && rm -f /data/s${k - 1}/f*5` : '';
      lines.push(`RUN mkdir -p /data/s${k} && cd /data/s${k} && seq 1 ${n} | while read i; do echo "step ${k} file $i" > f$i; done${del}`);
    }
    this.file = containerfile(root, lines.join('\n') + '\n');
  }

  async round(_env: Env, _i: number, b: Builder): Promise<Timed[]> {
    return [{ row: this.id, m: await b.build({ context: this.ctx, file: this.file, tag: 'bench-w3', noCache: true }) }];
  }

  expected(env: Env): Expected {
    const e: Expected = new Map();
    for (let k = 1; k <= RunHeavy.STEPS; k++) {
      for (let i = 1; i <= env.sizes.w3FilesPerStep; i++) {
        if (k < RunHeavy.STEPS && i % 10 === 5) continue; // deleted by step k+1
        e.set(`data/s${k}/f${i}`, sha(`step ${k} file ${i}\n`));
      }
    }
    return e;
  }

  check(env: Env, b: Builder): Promise<string[]> {
    return checkTree(b, env, 'bench-w3', ['data'], this.expected(env));
  }
}

class NoopRebuild extends RunHeavy {
  override readonly id = 'W6';
  override readonly title = 'no-op rebuild of W3 (every step cached)';
  constructor(private readonly w3: RunHeavy) {
    super();
  }

  override async prepare(env: Env): Promise<void> {
    await ensureBuilt(env, this.w3);
    await super.prepare(env);
  }

  override async round(_env: Env, _i: number, b: Builder): Promise<Timed[]> {
    return [{ row: this.id, m: await b.build({ context: this.ctx, file: this.file, tag: 'bench-w3' }) }];
  }
}

// ---------------------------------------------------------------- W4 multi-stage
class MultiStage implements Workload {
  readonly id = 'W4';
  readonly title = '4 independent stages burning ~2 s of CPU each, final stage copies from each';
  private ctx = '';
  private file = '';

  async prepare(env: Env): Promise<void> {
    if (this.file) return;
    const root = join(env.dir, 'w4');
    this.ctx = join(root, 'context');
    mkdirSync(this.ctx, { recursive: true });
    fixDirTimes(this.ctx);
    const lines: string[] = [];
    for (let s = 1; s <= 4; s++) {
      lines.push(`FROM ${env.base} AS s${s}`);
      lines.push(`RUN mkdir /out && i=0; while [ $i -lt ${env.sizes.w4Loop + s} ]; do i=$((i+1)); done; echo "stage ${s} counted $i" > /out/r`);
    }
    lines.push(`FROM ${env.base}`);
    for (let s = 1; s <= 4; s++) lines.push(`COPY --from=s${s} /out/r /out/r${s}`);
    this.file = containerfile(root, lines.join('\n') + '\n');
  }

  async round(_env: Env, _i: number, b: Builder): Promise<Timed[]> {
    return [{ row: this.id, m: await b.build({ context: this.ctx, file: this.file, tag: 'bench-w4', noCache: true }) }];
  }

  check(env: Env, b: Builder): Promise<string[]> {
    const e: Expected = new Map();
    for (let s = 1; s <= 4; s++) e.set(`out/r${s}`, sha(`stage ${s} counted ${env.sizes.w4Loop + s}\n`));
    return checkTree(b, env, 'bench-w4', ['out'], e);
  }
}

// ---------------------------------------------------------------- W7 push
class Push implements Workload {
  readonly id = 'W7';
  readonly title = 'push W1 and W2 to a local registry, cold (empty registry) then warm (blobs there)';
  constructor(private readonly w1: ManySmall, private readonly w2: BigFile) {}
  /** The last registry each builder pushed to, kept running for the check. */
  private last = new Map<string, { host: string; stop(): Promise<void> }>();
  private seq = 0;

  async prepare(env: Env): Promise<void> {
    await ensureBuilt(env, this.w1);
    await ensureBuilt(env, this.w2);
  }

  async round(env: Env, _i: number, b: Builder): Promise<Timed[]> {
    await this.last.get(b.name)?.stop();
    // A new registry per round: "cold" means it holds none of the blobs, not even the base layer.
    const reg = await startRegistry(join(env.registryDir, `${b.name}-${this.seq++}`));
    this.last.set(b.name, reg);
    const out: Timed[] = [];
    process.stderr.write(`  W7 round ${_i + 1} ${b.name}: disk probe (32 MiB direct + fdatasync on /) ${diskProbeSeconds().toFixed(2)} s (at the start of the run: ${env.diskProbeAtStart?.toFixed(2) ?? '?'} s)\n`);
    for (const phase of ['cold', 'warm']) {
      for (const [w, tag] of [['W1', 'bench-w1'], ['W2', 'bench-w2']] as const) {
        out.push({ row: `W7 ${phase} ${w}`, m: await b.push(tag, `docker://${reg.host}/bench/${tag}:latest`) });
      }
    }
    return out;
  }

  /** Pull what was pushed back with skopeo (an independent client) and compare its content. */
  async check(env: Env, b: Builder): Promise<string[]> {
    const reg = this.last.get(b.name);
    if (!reg) return ['nothing was pushed'];
    const problems: string[] = [];
    const cases: [string, string, Expected][] = [['bench-w1', 'app', this.w1.expected()], ['bench-w2', 'data', this.w2.digests]];
    mkdirSync(join(env.dir, 'check'), { recursive: true });
    for (const [tag, prefix, expected] of cases) {
      const layout = join(env.dir, 'check', `pulled-${b.name}-${tag}`);
      rmSync(layout, { recursive: true, force: true });
      execFileSync('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${reg.host}/bench/${tag}:latest`, `oci:${layout}:latest`], { stdio: ['ignore', 'ignore', 'pipe'] });
      const got = await treeFromLayout(layout, [prefix]);
      // The registry must hold the very blobs the store holds: a push that recompressed would differ.
      const stored = b.storedLayerDigests?.(tag);
      const recompressed = (stored ?? []).filter((d) => !got.blobDigests.includes(d));
      if (recompressed.length > 0) problems.push(`${tag}: stored layers ${recompressed.join()} were not pushed as they are`);
      problems.push(...diffTrees(expected, got.tree).map((p) => `${tag}: ${p}`));
      rmSync(layout, { recursive: true, force: true });
    }
    await reg.stop();
    this.last.delete(b.name);
    return problems;
  }
}

export function workloads(): Workload[] {
  const w1 = new ManySmall();
  const w2 = new BigFile();
  const w3 = new RunHeavy();
  return [w1, w2, w3, new MultiStage(), new OneChange(), new NoopRebuild(w3), new Push(w1, w2)];
}
