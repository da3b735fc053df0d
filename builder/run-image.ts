// runImage(): run a stored image with the same runtime RUN steps use, with the image's entrypoint,
// cmd, env, workdir and user — so a user can try what they built without another tool. The
// container's writable layer is scratch space and is always thrown away (like `podman run --rm`).
import { basename, dirname } from 'node:path';
import { RootfsView } from '../cache/rootfs-view.js';
import { makeRunScratch, type RunScratch } from '../cache/run-scratch.js';
import type { Store } from '../cache/store.js';
import { inUserns, usernsRanges } from '../cache/userns.js';
import { requireImage } from '../cache/lookup.js';
import { UserError } from '../oci/errors.js';
import { RunError, runContainer, type Isolation, type RunSpec } from '../native/index.js';
import { materialize } from '../cache/snapshot-copy.js';
import { loadImage } from './solve/base-image.js';
import { envMap, DEFAULT_PATH } from './solve/stage-state.js';
import { defaultIsolation, type RunNetwork } from './steps/run-options.js';
import { resolveRunUser } from './steps/run-user.js';

export interface RunImageOptions {
  /** Replaces the image's CMD. */
  command?: string[];
  /** Replaces the image's ENTRYPOINT (a single executable, as `podman run --entrypoint`). */
  entrypoint?: string;
  /** Extra `KEY=VALUE` entries; they win over the image's. */
  env?: string[];
  workdir?: string;
  user?: string;
  network?: RunNetwork;
  isolation?: Isolation;
  /** false: without the default syscall filter (`--security-opt seccomp=unconfined`). */
  seccomp?: boolean;
  stdout?: (chunk: Buffer) => void;
  stderr?: (chunk: Buffer) => void;
  signal?: AbortSignal;
}

export async function runImage(store: Store, image: string, opts: RunImageOptions = {}): Promise<{ exitCode: number; signal?: string }> {
  const img = await loadImage(store, await requireImage(store, image));
  const cfg = img.config.config ?? {};
  const entrypoint = opts.entrypoint !== undefined ? (opts.entrypoint === '' ? [] : [opts.entrypoint]) : (cfg.Entrypoint ?? []);
  const cmd = opts.command && opts.command.length > 0 ? opts.command : opts.entrypoint !== undefined ? [] : (cfg.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw new UserError(`${image}: no command given and the image has no ENTRYPOINT or CMD`);

  const lowers = await store.snapshots.ensure(img.layers);
  const view = new RootfsView(lowers);
  let user;
  try {
    user = await resolveRunUser(opts.user ?? cfg.User, view);
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`${image}: ${e.message}`);
    throw e;
  }
  const env = envMap(cfg);
  for (const kv of opts.env ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UserError(`invalid --env "${kv}": expected KEY=VALUE`);
    env.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  if (!env.has('HOME')) env.set('HOME', user.home);

  const isolation = opts.isolation ?? defaultIsolation();
  const scratch = await makeRunScratch(store);
  const userns = isolation === 'rootless' && usernsRanges() !== undefined;
  try {
    return await runContainer({
      rootfs: await containerRootfs(store, lowers, scratch, isolation),
      isolation,
      args,
      env: [...env].map(([k, v]) => `${k}=${v}`),
      cwd: opts.workdir ?? (cfg.WorkingDir || '/'),
      uid: user.uid,
      gid: user.gid,
      additionalGids: user.groups,
      network: opts.network ?? 'host',
      ...(opts.seccomp === false ? { seccomp: false } : {}),
      etcHosts: '/etc/hosts',
      resolvConf: '/etc/resolv.conf',
      stdout: opts.stdout ?? ((c) => process.stdout.write(c)),
      stderr: opts.stderr ?? ((c) => process.stderr.write(c)),
      signal: opts.signal,
    });
  } catch (e) {
    throw asRunFailure(e);
  } finally {
    // Files the container made for other ids are only removable from inside the namespace.
    if (userns) await inUserns({ op: 'rm', paths: [scratch.upper, scratch.work] }).catch(() => undefined);
    await scratch.remove();
  }
}

/**
 * Chroot isolation has no overlay: the container gets a copy of the image's files (thrown away with
 * the scratch dir). The others get an overlay over the snapshots through their short links.
 */
async function containerRootfs(store: Store, lowers: string[], scratch: RunScratch, isolation: Isolation): Promise<RunSpec['rootfs']> {
  if (isolation === 'chroot') {
    const dir = await scratch.sub('rootfs');
    await materialize(lowers, dir);
    return { dir };
  }
  const lowerDirs = lowers.length > 0 ? await Promise.all(lowers.map((d) => store.snapshots.shortLink(basename(dirname(d))))) : [await scratch.sub('empty')];
  return { lowerDirs, upperDir: scratch.upper, workDir: scratch.work };
}

/**
 * A container that could not start is the user's to fix, with podman's exit codes: 127 when the
 * command is not found, 126 when it cannot be executed, 125 when the container itself failed.
 */
function asRunFailure(e: unknown): unknown {
  // Ctrl-C / SIGTERM: the container is gone with its scratch dir; 130 as for an interrupted build.
  if ((e as Error | undefined)?.name === 'AbortError') return new UserError('interrupted', { exitCode: 130 });
  if (!(e instanceof RunError)) return e;
  const exitCode = e.exitCode === 126 || e.exitCode === 127 ? e.exitCode : 125;
  return new UserError(e.message, { exitCode, cause: e });
}
