// Test helpers for native/ runtime tests: a tiny busybox rootfs and an
// unprivileged test user. Used by test/integration/native-*.test.ts only.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

export const BUSYBOX = '/usr/bin/busybox';
export const TEST_USER = 'tsbuild-test';

/** Populate dir with bin/busybox, bin/sh and a few applet links, plus /etc/passwd. */
export function makeBusyboxRootfs(dir: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'etc'), { recursive: true });
  mkdirSync(join(dir, 'tmp'), { recursive: true, mode: 0o1777 });
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  for (const app of ['sh', 'echo', 'cat', 'ls', 'id', 'grep', 'sleep', 'rm', 'touch', 'mkdir', 'hostname', 'mount', 'ps', 'stat', 'pwd', 'env', 'test', 'kill', 'true', 'false', 'wc', 'head']) {
    symlinkSync('busybox', join(dir, 'bin', app));
  }
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\nnobody:x:65534:\n');
}

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  /** true when /etc/subuid and /etc/subgid have ranges for the user */
  subids: boolean;
}

/** Create (once) the unprivileged test user. Needs root. */
export function ensureTestUser(): TestUser {
  const exists = spawnSync('id', ['-u', TEST_USER]).status === 0;
  if (!exists) execFileSync('useradd', ['-m', '-s', '/bin/sh', TEST_USER], { stdio: 'ignore' });
  const uid = Number(execFileSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', TEST_USER], { encoding: 'utf8' }).trim());
  const has = (f: string) => existsSync(f) && readFileSync(f, 'utf8').split('\n').some((l) => l.startsWith(`${TEST_USER}:`));
  return { name: TEST_USER, uid, gid, subids: has('/etc/subuid') && has('/etc/subgid') };
}

/** A temp dir owned by `owner` (uid/gid) when given. */
export function tempDir(prefix: string, owner?: { uid: number; gid: number }): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  if (owner) {
    chownSync(d, owner.uid, owner.gid);
    chmodSync(d, 0o755);
  }
  return d;
}

/** chown -R */
export function chownTree(path: string, uid: number, gid: number): void {
  execFileSync('chown', ['-R', '-h', `${uid}:${gid}`, path]);
}

/** pids of processes whose argv starts with `argv` (argv[0] compared by basename). */
export function findProcesses(...argv: string[]): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let cmd: string[];
    try {
      cmd = readFileSync(`/proc/${e}/cmdline`, 'latin1').split('\0');
    } catch {
      continue; /* gone */
    }
    if (cmd.length < argv.length) continue;
    if (basename(cmd[0]!) !== basename(argv[0]!)) continue;
    if (argv.slice(1).every((a, i) => cmd[i + 1] === a)) out.push(Number(e));
  }
  return out;
}

/**
 * Those of `pids` that `ancestor` started (directly or further down). Other test files run at the
 * same time start their own helpers: a check for leaks must look only at its own.
 */
export function descendantsOf(ancestor: number, pids: number[]): number[] {
  const parentOf = (pid: number): number | undefined => {
    try {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")".
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return undefined; /* gone */
    }
  };
  return pids.filter((pid) => {
    for (let p = parentOf(pid); p !== undefined && p > 1; p = parentOf(p)) if (p === ancestor) return true;
    return false;
  });
}
