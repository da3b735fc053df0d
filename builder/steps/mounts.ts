// RUN --mount requests → host paths the runtime bind-mounts (or tmpfs). Nothing here lands in the
// step's layer: mount targets the rootfs lacks are made in the runtime's throw-away init layer.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { UserError, type SourceLocation } from '../../oci/errors.js';
import type { MountSpec } from '../../native/index.js';
import { cacheMountPaths } from '../../cache/build-cache-mounts.js';
import { tryFileLock, withFileLock } from '../../cache/lock.js';
import type { RunScratch } from '../../cache/run-scratch.js';
import { materialize } from '../../cache/snapshot-copy.js';
import { contextBindSource } from './context-bind.js';
import { buildContextSource } from './copy-source.js';
import type { StageState } from '../solve/stage-state.js';
import type { StepContext } from '../solve/solver.js';
import { resolveFromRef } from '../solve/from-ref.js';
import type { MountReq } from './mounts-parse.js';

export interface PreparedMounts {
  mounts: MountSpec[];
  /** Extra process environment (secrets with `env=`): never saved anywhere. */
  env: Map<string, string>;
  release(): Promise<void>;
}

const asRoot = () => (process.getuid?.() ?? 0) === 0;

/** `from=` names an earlier stage or an image: its snapshot dirs, lowest first. */
async function fromLayers(from: string, ctx: StepContext, loc: SourceLocation): Promise<{ lowers: string[]; state?: StageState }> {
  const ref = await resolveFromRef(from, 'RUN --mount from', ctx, loc);
  if (ref.kind === 'image') return { lowers: await ctx.solve.store.snapshots.ensure(ref.image.layers) };
  const state = await ctx.stageResult(ref.index);
  return { lowers: await ctx.solve.store.snapshots.ensure(state.layers), state };
}

async function copyFrom(from: string, source: string, ctx: StepContext, scratch: RunScratch, loc: SourceLocation): Promise<string> {
  const { lowers } = await fromLayers(from, ctx, loc);
  const { RootfsView } = await import('../../cache/rootfs-view.js');
  const resolved = await new RootfsView(lowers).resolve(source, true);
  const dest = await scratch.sub('from');
  const out = await materialize(lowers, dest, resolved);
  if (!out) throw new UserError(`mount source "${source}" not found in ${from}`, { location: loc });
  return out;
}

/**
 * sharing=private (BuildKit): a writer never waits and never shares. The mount's own directory when
 * nobody uses it, else the first free one of its private instances (`<key>-1`, `<key>-2`, ... next
 * to it), which are kept for later private writers: a second concurrent writer starts from its own
 * (at first empty) cache, as under BuildKit.
 */
async function privateInstance(base: string, key: string): Promise<{ dir: string; release: () => Promise<void> }> {
  for (let i = 0; ; i++) {
    const name = i === 0 ? key : `${key}-${i}`;
    const release = await tryFileLock(join(base, `${name}.lock`));
    if (release) return { dir: join(base, name), release };
  }
}

/** Hold an exclusive lock until release() (cache mounts with sharing=locked). */
async function hold(lockPath: string): Promise<() => void> {
  let release!: () => void;
  let acquired!: () => void;
  const got = new Promise<void>((r) => (acquired = r));
  const held = withFileLock(lockPath, () => {
    acquired();
    return new Promise<void>((r) => (release = r));
  });
  held.catch(() => undefined); // after release, a lock file that cannot be removed is the next taker's to break
  // A lock that cannot be taken (say, an unwritable directory) fails the step instead of leaving it waiting.
  await Promise.race([got, held]);
  return () => release();
}

async function secretValue(id: string, ctx: StepContext): Promise<Buffer | undefined> {
  const src = ctx.solve.run?.secrets.get(id);
  if (!src) return undefined;
  if (src.env !== undefined) {
    const v = process.env[src.env];
    return v === undefined ? undefined : Buffer.from(v);
  }
  try {
    return await fsp.readFile(src.file!);
  } catch (e) {
    throw new UserError(`secret ${id}: cannot read ${src.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export async function prepareMounts(reqs: MountReq[], ctx: StepContext, scratch: RunScratch, loc: SourceLocation): Promise<PreparedMounts> {
  const mounts: MountSpec[] = [];
  const env = new Map<string, string>();
  const releases: (() => void | Promise<void>)[] = [];
  const release = async () => {
    for (const r of releases.reverse()) await r();
  };
  const fromContext = (source: string, copy: boolean) =>
    contextBindSource(ctx.solve.contextDir, source, buildContextSource(ctx.solve).matcher, scratch, loc, copy);
  try {
    for (const m of reqs) {
      switch (m.type) {
        case 'bind': {
          // Writes to a rw bind of the context are thrown away after the step (BuildKit): a copy.
          const src = m.from ? await copyFrom(m.from, m.source, ctx, scratch, loc) : await fromContext(m.source, m.rw);
          mounts.push({ type: 'bind', source: src, target: m.target, readonly: !m.rw });
          break;
        }
        case 'cache': {
          const paths = cacheMountPaths(ctx.solve.store.root, m.id);
          const { base, key } = paths;
          let dir = paths.dir;
          await fsp.mkdir(base, { recursive: true, mode: 0o700 });
          if (m.sharing === 'locked') releases.push(await hold(join(base, `${key}.lock`)));
          if (m.sharing === 'private') {
            const own = await privateInstance(base, key);
            releases.push(own.release);
            dir = own.dir;
          }
          let created = true;
          try {
            await fsp.mkdir(dir, { mode: m.mode });
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
            created = false;
          }
          if (created) {
            await fsp.chmod(dir, m.mode);
            if (asRoot()) await fsp.chown(dir, m.uid, m.gid);
            await fsp.writeFile(join(base, `${key}.id`), m.id + '\n');
          }
          // --cache-from: an empty mount gets the exported contents (once per build); --cache-to: noted for export.
          await ctx.solve.cache?.mounts?.use(m.id);
          if (created && (m.from || m.source)) {
            // Seed a new cache from a stage/image (from=) or the context; imported files are kept.
            const seed = m.from ? await copyFrom(m.from, m.source ?? '/', ctx, scratch, loc) : await fromContext(m.source!, false);
            await fsp.cp(seed, dir, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true, force: false });
          }
          mounts.push({ type: 'bind', source: dir, target: m.target, readonly: !m.rw });
          break;
        }
        case 'tmpfs':
          mounts.push({ type: 'tmpfs', target: m.target, options: m.size !== undefined ? [`size=${m.size}`] : [] });
          break;
        case 'secret': {
          const value = await secretValue(m.id, ctx);
          if (value === undefined) {
            if (m.required) throw new UserError(`secret ${m.id} not found (pass it with --secret id=${m.id},src=FILE)`, { location: loc });
            break;
          }
          if (m.env !== undefined) env.set(m.env, value.toString('utf8'));
          if (m.target === '') break;
          const dir = await scratch.sub('secret', 0o711);
          const file = join(dir, 'secret');
          await fsp.writeFile(file, value, { mode: 0o600 });
          if (asRoot()) await fsp.chown(file, m.uid, m.gid);
          await fsp.chmod(file, m.mode);
          mounts.push({ type: 'bind', source: file, target: m.target, readonly: true });
          // Overwrite before unlinking: the scratch dir is removed afterwards anyway.
          releases.push(() => fsp.writeFile(file, Buffer.alloc(value.length)).catch(() => undefined));
          break;
        }
      }
    }
  } catch (e) {
    await release();
    throw e;
  }
  return { mounts, env, release };
}
