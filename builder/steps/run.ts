// RUN: run the command in a container over the stage's rootfs and commit what it changed as a layer.
// The pieces: run-command (argv, heredocs, history), run-user (USER), run-flags + mounts-parse +
// mounts (--network, --mount), run-isolation (overlay / rootless / chroot runtimes and how each
// finds the step's changes).
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { located, StepFailedError, UserError } from '../../oci/errors.js';
import { RunError, type MountSpec } from '../../native/index.js';
import { makeRunScratch } from '../../cache/run-scratch.js';
import type { Instruction } from '../containerfile/index.js';
import type { StepContext } from '../solve/solver.js';
import { currentWorkdir, type LayerRef } from '../solve/stage-state.js';
import { RUN_PIPES_DIR, runCommand, runEnv } from './run-command.js';
import { parseRunFlags } from './run-flags.js';
import { executeIsolated, type IsolatedResult } from './run-isolation.js';
import { isolationHint } from './run-hint.js';
import { defaultRunOptions } from './run-options.js';
import { LineEmitter } from './run-output.js';
import { resolveRunUser } from './run-user.js';
import { prepareMounts } from './mounts.js';

const HOSTNAME = 'tsbuild';
const HOSTS = `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${HOSTNAME}\n`;

export async function runStep(ins: Instruction, ctx: StepContext): Promise<LayerRef | undefined> {
  if (ins.kind !== 'RUN') throw new Error(`runStep got ${ins.kind}`);
  const state = ctx.state;
  const o = ctx.solve;
  const opts = o.run ?? defaultRunOptions();
  const flags = parseRunFlags(ins, state);
  const cmd = runCommand(ins, state);
  const view = await ctx.rootfs(state);
  const user = await resolveRunUser(state.image.config.User, view, ins.pos);
  const env = runEnv(state);
  if (!env.has('HOME')) env.set('HOME', user.home);
  // As buildah and docker build give a RUN step; an ENV or ARG HOSTNAME wins.
  if (!env.has('HOSTNAME')) env.set('HOSTNAME', HOSTNAME);
  const network = flags.network ?? opts.network;

  const lowers = await o.store.snapshots.ensure(state.layers);
  const top = lowers.length > 0 ? await fsp.stat(lowers[lowers.length - 1]!) : undefined;
  const scratch = await makeRunScratch(o.store, top ? { mode: top.mode & 0o7777, uid: top.uid, gid: top.gid } : { mode: 0o755, uid: 0, gid: 0 });
  const out = new LineEmitter(o.emit, ctx.stageIndex, ctx.step);
  let prepared: Awaited<ReturnType<typeof prepareMounts>> | undefined;
  let exec: IsolatedResult | undefined;
  try {
    prepared = await prepareMounts(flags.mounts, ctx, scratch, ins.pos);
    for (const [k, v] of prepared.env) env.set(k, v);
    const mounts: MountSpec[] = [...prepared.mounts];
    if (cmd.files.length > 0) {
      const pipes = await scratch.sub('pipes');
      for (const f of cmd.files) await fsp.writeFile(join(pipes, f.name), f.content, { mode: 0o755 });
      mounts.push({ type: 'bind', source: pipes, target: RUN_PIPES_DIR, readonly: true });
    }
    const etc = await scratch.sub('etc');
    await fsp.writeFile(join(etc, 'hosts'), HOSTS, { mode: 0o644 });
    let resolvConf: string | undefined;
    if (network === 'host') {
      resolvConf = join(etc, 'resolv.conf');
      await fsp.copyFile('/etc/resolv.conf', resolvConf).catch(() => fsp.writeFile(resolvConf!, ''));
    }
    exec = await executeIsolated({
      isolation: opts.isolation,
      lowers,
      scratch,
      ctx,
      spec: {
        args: cmd.execArgs,
        env: [...env].map(([k, v]) => `${k}=${v}`),
        cwd: currentWorkdir(state),
        uid: user.uid,
        gid: user.gid,
        additionalGids: user.groups,
        hostname: HOSTNAME,
        network,
        seccomp: opts.seccomp,
        mounts,
        etcHosts: join(etc, 'hosts'),
        ...(resolvConf ? { resolvConf } : {}),
        stdout: (b) => out.write('stdout', b),
        stderr: (b) => out.write('stderr', b),
        ...(o.signal ? { signal: o.signal } : {}),
      },
    }).catch((e: unknown) => {
      out.flush();
      if ((e as Error).name === 'AbortError') throw new UserError('build interrupted', { location: ins.pos, exitCode: 130 });
      if (e instanceof RunError) throw new UserError(`RUN could not start: ${e.message}`, { location: ins.pos, cause: e, hint: isolationHint(e.message, opts.isolation) });
      throw e;
    });
    out.flush();
    for (const w of exec.result.warnings ?? []) o.emit({ type: 'warning', message: `${ins.pos.file}:${ins.pos.line}: ${w}` });
    if (exec.result.signal) throw new StepFailedError(`RUN was killed by ${exec.result.signal}`, { status: exec.result.exitCode, signal: exec.result.signal, location: ins.pos });
    if (exec.result.exitCode !== 0) throw new StepFailedError(`RUN exited with status ${exec.result.exitCode}`, { status: exec.result.exitCode, location: ins.pos });
    // Secrets and mounted files never reach the layer: their mount points live in the runtime's
    // throw-away init layer, and the diff only sees the rootfs.
    // What the step left that no layer can hold (a name that is not UTF-8) is the step's to report.
    return await located('RUN', ins.pos, exec.commit());
  } finally {
    await exec?.release();
    await prepared?.release();
    await scratch.remove();
  }
}
