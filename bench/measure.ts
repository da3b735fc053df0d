// Runs one timed command: wall time and the peak resident memory of its whole process tree.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

export interface Measured {
  wallSeconds: number;
  /** Peak of the summed RSS of the process tree (polled), or the largest single process (getrusage), whichever is larger. */
  peakRssMiB: number;
  /** User + system CPU seconds of the command and its children: a figure other load on the machine barely moves. */
  cpuSeconds: number;
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const PAGE_KIB = 4;
const POLL_MS = 20;

/** Resident KiB of every process whose ancestry reaches `root` (root included). */
function treeRssKiB(root: number): number {
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // comm may hold spaces and parens: the fields after the last ')' are fixed.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(pid, Number(f[1]));
      rss.set(pid, Number(f[21]) * PAGE_KIB);
    } catch {
      /* exited while we looked */
    }
  }
  let total = 0;
  for (const [pid, kib] of rss) {
    for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 1 && hops < 64; p = parent.get(p), hops++) {
      if (p === root) {
        total += kib;
        break;
      }
    }
  }
  return total;
}

/**
 * Run `cmd args` under /usr/bin/time, polling its process tree's RSS until it exits. Dirty pages
 * are written back first, untimed (as `hyperfine --prepare sync`): otherwise the writeback of what
 * the previous command wrote (the other builder's 1 GiB, in an interleaved run) lands on this one.
 */
export function measure(cmd: string, args: string[], opts: RunOptions = {}): Promise<Measured> {
  execFileSync('sync');
  const timeFile = join(tmpdir(), `tsbuild-bench-time-${process.pid}-${Date.now()}`);
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%M %U %S', '-o', timeFile, cmd, ...args], {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let peakKiB = 0;
    const timer = setInterval(() => {
      if (child.pid !== undefined) peakKiB = Math.max(peakKiB, treeRssKiB(child.pid));
    }, POLL_MS);
    child.on('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
    child.on('close', (code) => {
      const wallSeconds = Number(process.hrtime.bigint() - start) / 1e9;
      clearInterval(timer);
      let maxKiB = 0;
      let cpuSeconds = 0;
      try {
        const [m, u, sys] = (readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '').split(' ').map(Number);
        maxKiB = m || 0;
        cpuSeconds = (u || 0) + (sys || 0);
        rmSync(timeFile, { force: true });
      } catch {
        /* time wrote nothing: the command could not start */
      }
      resolve({ wallSeconds, peakRssMiB: Math.max(peakKiB, maxKiB) / 1024, cpuSeconds, stdout, stderr, code: code ?? 1 });
    });
  });
}
