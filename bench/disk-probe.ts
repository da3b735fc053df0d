// How long the machine's disk takes a small synchronous write right now: 32 MiB written with
// O_DIRECT and fdatasync'ed over the same file on / each time (allocated by the first probe of all,
// then overwritten; nothing deleted).
// A diagnostic for W7, whose cold W2 push ends in the registry's fsync of 632 MB: in full runs its
// first rounds were slow for both builders, and this shows whether the disk itself was (a backlog
// of what W1–W6 wrote still being written further down, below the guest's own `sync`).
import { execFileSync } from 'node:child_process';

export const PROBE_FILE = '/var/tmp/tsbuild-bench-probe';

/** Seconds, or NaN where the probe cannot run (no O_DIRECT on the file system of `file`, e.g. tmpfs). */
export function diskProbeSeconds(file = PROBE_FILE): number {
  const t0 = process.hrtime.bigint();
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', 'count=32', 'oflag=direct', 'conv=fdatasync,notrunc', 'status=none'], { stdio: 'ignore' });
  } catch {
    return NaN;
  }
  return Number(process.hrtime.bigint() - t0) / 1e9;
}
