// Instructions that only change the image config: ENV, LABEL, EXPOSE, VOLUME, USER, CMD,
// ENTRYPOINT, SHELL, STOPSIGNAL, HEALTHCHECK, ONBUILD, MAINTAINER, ARG. WORKDIR's config part is here
// too; creating the directory is a filesystem step (builder/steps/workdir.ts).
import { posix } from 'node:path';
import { UserError } from '../../oci/errors.js';
import type { CommandForm, Instruction } from '../containerfile/index.js';
import { expandWord, expandWords, parseDuration } from '../containerfile/index.js';
import { flagValue } from '../plan/stages.js';
import { currentShell, currentWorkdir, envMap, expansionLookup, setEnv, type StageState } from '../solve/stage-state.js';

export type MetadataInstruction = Extract<Instruction, { kind: 'ENV' | 'LABEL' | 'EXPOSE' | 'VOLUME' | 'USER' | 'CMD' | 'ENTRYPOINT' | 'SHELL' | 'STOPSIGNAL' | 'HEALTHCHECK' | 'ONBUILD' | 'MAINTAINER' | 'ARG' | 'WORKDIR' }>;

export function isMetadataInstruction(ins: Instruction): ins is MetadataInstruction {
  return ['ENV', 'LABEL', 'EXPOSE', 'VOLUME', 'USER', 'CMD', 'ENTRYPOINT', 'SHELL', 'STOPSIGNAL', 'HEALTHCHECK', 'ONBUILD', 'MAINTAINER', 'ARG', 'WORKDIR'].includes(ins.kind);
}

/** Shell form runs through the stage's SHELL; exec form is used as written. */
export function commandArgs(cmd: CommandForm, state: StageState): string[] {
  return cmd.form === 'exec' ? cmd.args : [...currentShell(state), cmd.command];
}

const SIGNALS = new Set(['SIGABRT', 'SIGALRM', 'SIGBUS', 'SIGCHLD', 'SIGCONT', 'SIGFPE', 'SIGHUP', 'SIGILL', 'SIGINT', 'SIGIO', 'SIGIOT', 'SIGKILL', 'SIGPIPE', 'SIGPOLL', 'SIGPROF', 'SIGPWR', 'SIGQUIT', 'SIGSEGV', 'SIGSTKFLT', 'SIGSTOP', 'SIGSYS', 'SIGTERM', 'SIGTRAP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGUSR1', 'SIGUSR2', 'SIGVTALRM', 'SIGWINCH', 'SIGXCPU', 'SIGXFSZ']);

function validSignal(s: string): boolean {
  if (/^[0-9]+$/.test(s)) return Number(s) > 0 && Number(s) < 65;
  const up = s.toUpperCase();
  const name = up.startsWith('SIG') ? up : 'SIG' + up;
  return SIGNALS.has(name) || /^SIGRTM(IN|AX)([+-][0-9]+)?$/.test(name);
}

/** EXPOSE 80 8080/udp 7000-7002 → "80/tcp", "8080/udp", "7000/tcp", ... */
function exposedPorts(spec: string, ins: Instruction): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  if (!m) throw new UserError(`invalid port "${spec}" in EXPOSE`, { location: ins.pos });
  const lo = Number(m[1]);
  const hi = m[2] ? Number(m[2]) : lo;
  const proto = (m[3] ?? 'tcp').toLowerCase();
  if (lo < 1 || hi > 65535 || hi < lo) throw new UserError(`invalid port range "${spec}" in EXPOSE`, { location: ins.pos });
  const out: string[] = [];
  for (let p = lo; p <= hi; p++) out.push(`${p}/${proto}`);
  return out;
}

/**
 * Apply a config-only instruction to the stage. Returns the history text (BuildKit style), or
 * undefined for instructions that leave no history (ARG is recorded by BuildKit only as part of
 * later RUN lines).
 */
export function applyMetadata(ins: MetadataInstruction, state: StageState): void {
  const cfg = state.image.config;
  const lookup = expansionLookup(state);
  const esc = state.escape;
  const word = (w: string) => expandWord(w, lookup, esc, ins.pos);
  switch (ins.kind) {
    case 'ENV':
      // All pairs of one ENV see the values from before it (Docker expands the whole line first).
      for (const { key, value } of ins.pairs.map((p) => ({ key: word(p.key), value: word(p.value) }))) {
        if (key === '') throw new UserError('ENV names an empty variable', { location: ins.pos });
        setEnv(cfg, key, value);
      }
      return;
    case 'ARG':
      for (const a of ins.args) {
        state.declaredArgs.add(a.name);
        state.args.declare(a.name, a.default, envMap(cfg), ins.pos);
      }
      return;
    case 'LABEL':
      cfg.Labels = cfg.Labels ?? {};
      for (const p of ins.pairs) {
        const key = word(p.key);
        if (key === '') throw new UserError('LABEL names an empty key', { location: ins.pos });
        cfg.Labels[key] = word(p.value);
      }
      return;
    case 'EXPOSE':
      cfg.ExposedPorts = cfg.ExposedPorts ?? {};
      for (const p of ins.ports.flatMap((w) => expandWords(w, lookup, esc, ins.pos))) for (const port of exposedPorts(p, ins)) cfg.ExposedPorts[port] = {};
      return;
    case 'VOLUME':
      cfg.Volumes = cfg.Volumes ?? {};
      for (const raw of ins.paths) {
        const p = word(raw);
        if (p.trim() === '') throw new UserError('VOLUME specified can not be an empty string', { location: ins.pos });
        cfg.Volumes[p] = {};
      }
      return;
    case 'USER': {
      const u = word(ins.user);
      if (u === '') throw new UserError('USER requires a user name or id', { location: ins.pos });
      cfg.User = u;
      return;
    }
    case 'WORKDIR': {
      const p = word(ins.path);
      if (p === '') throw new UserError('WORKDIR requires a path', { location: ins.pos });
      cfg.WorkingDir = posix.resolve(currentWorkdir(state), p);
      return;
    }
    case 'CMD':
      cfg.Cmd = commandArgs(ins.cmd, state);
      state.cmdSetInStage = true;
      return;
    case 'ENTRYPOINT':
      cfg.Entrypoint = commandArgs(ins.cmd, state);
      // An ENTRYPOINT resets a CMD inherited from the base image (but not one set in this stage).
      if (!state.cmdSetInStage) cfg.Cmd = null;
      return;
    case 'SHELL':
      if (ins.args.length === 0) throw new UserError('SHELL requires at least one argument', { location: ins.pos });
      cfg.Shell = ins.args;
      return;
    case 'STOPSIGNAL': {
      const s = word(ins.signal);
      if (!validSignal(s)) throw new UserError(`invalid signal "${s}" in STOPSIGNAL`, { location: ins.pos });
      cfg.StopSignal = s;
      return;
    }
    case 'HEALTHCHECK': {
      if (ins.none) {
        cfg.Healthcheck = { Test: ['NONE'] };
        return;
      }
      const hc: NonNullable<typeof cfg.Healthcheck> = {
        Test: ins.cmd.form === 'exec' ? ['CMD', ...ins.cmd.args] : ['CMD-SHELL', ins.cmd.command],
      };
      const dur = (name: string) => {
        const v = flagValue(ins, name);
        if (v === undefined) return undefined;
        const ns = parseDuration(v, ins.pos);
        if (ns !== 0 && ns < 1_000_000) throw new UserError(`--${name} cannot be less than 1ms`, { location: ins.pos });
        return ns;
      };
      const interval = dur('interval');
      const timeout = dur('timeout');
      const startPeriod = dur('start-period');
      const startInterval = dur('start-interval');
      if (interval !== undefined) hc.Interval = interval;
      if (timeout !== undefined) hc.Timeout = timeout;
      if (startPeriod !== undefined) hc.StartPeriod = startPeriod;
      if (startInterval !== undefined) hc.StartInterval = startInterval;
      const retries = flagValue(ins, 'retries');
      if (retries !== undefined) {
        if (!/^[0-9]+$/.test(retries) || Number(retries) < 1) throw new UserError('--retries must be a positive number', { location: ins.pos });
        hc.Retries = Number(retries);
      }
      cfg.Healthcheck = hc;
      return;
    }
    case 'ONBUILD':
      cfg.OnBuild = [...(cfg.OnBuild ?? []), ins.trigger];
      return;
    case 'MAINTAINER':
      state.image.author = ins.name;
      return;
  }
}
