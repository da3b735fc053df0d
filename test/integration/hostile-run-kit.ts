// Shared fixture for the RUN isolation tests of the rootless and chroot modes
// (hostile-run-rootless.test.ts, hostile-run-chroot.test.ts; oci mode is hostile-run.test.ts).
// A host process, a host mount and a host file all carry a random marker; the step's script must
// not find it anywhere. Builds run asynchronously (the test serves an HTTP listener), rootless ones
// as the unprivileged test user on a store and context it owns.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CLI } from '../helpers/cli.js';
import { makeBusyboxImage, REPO_ROOT } from '../helpers/busybox-image.js';
import { chownTree, ensureTestUser, tempDir, type TestUser } from '../helpers/native-rootfs.js';

export type Mode = 'rootless' | 'chroot';

export interface Harness {
  mode: Mode;
  /** The unprivileged user rootless builds run as (undefined for chroot). */
  user?: TestUser;
  work: string;
  root: string;
  /** A file on the host (readable by the builder's user) holding the marker. */
  outside: string;
  hostMount: string;
  /** Port of an HTTP listener on the host's 127.0.0.1; `requests()` counts what it answered. */
  port: number;
  requests(): number;
  /** Paths of the host a step must not see. */
  hostPaths: string[];
  /** Build `FROM busybox` + COPY check.sh (+ escape) + `RUN sh /check.sh`. */
  build(script: string, flags?: string[]): Promise<{ status: number; out: string }>;
  cleanup(): void;
}

const MARK = randomBytes(8).toString('hex');
// Split in scripts ("$A$B") so the RUN's own command line never holds the marker whole.
const [M1, M2] = [MARK.slice(0, 8), MARK.slice(8)];

/** A GET of the host listener with nc (Debian's busybox-static wget segfaults, so it cannot tell). */
export const httpGet = (h: Harness) => `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 127.0.0.1 ${h.port}`;

export const fail = (why: string) => `{ echo "VIOLATION: ${why}"; exit 1; }`;

// The classic chroot(2) escape: chroot into a subdirectory while the working directory stays
// outside it, walk up with "..", chroot to where that leads. Under pivot_root (the old root
// detached) ".." stops at the container's root; under a bare chroot(2) it reaches the host's.
// Prints ESCAPED when argv[1] (a host path) is visible afterwards.
const ESCAPE_C = `
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
  struct stat st;
  mkdir("/esc-sub", 0755);
  if (chroot("/esc-sub") != 0) { perror("chroot"); return 0; }
  for (int i = 0; i < 64; i++) if (chdir("..") != 0) break;
  if (chroot(".") != 0) { perror("chroot ."); return 0; }
  for (int i = 1; i < argc; i++)
    if (stat(argv[i], &st) == 0) { printf("ESCAPED: %s\\n", argv[i]); return 1; }
  printf("contained\\n");
  return 0;
}
`;

export async function startHarness(mode: Mode): Promise<Harness> {
  const user = mode === 'rootless' ? ensureTestUser() : undefined;
  const work = tempDir(`tsbuild-hostile-${mode}-`);
  chmodSync(work, 0o755);
  const root = join(work, 'store');
  mkdirSync(root);
  const busybox = makeBusyboxImage();
  const archive = join(work, 'busybox.tar');
  copyFileSync(busybox.dockerArchive, archive);
  busybox.cleanup();
  // A static binary for the step (the busybox image has no compiler).
  writeFileSync(join(work, 'escape.c'), ESCAPE_C);
  execFileSync('gcc', ['-static', '-O1', '-o', join(work, 'escape'), join(work, 'escape.c')], { stdio: 'pipe' });
  // The marker file is readable by the builder's user: invisibility comes from isolation, not modes.
  const outside = join(work, 'outside', 'secret.txt');
  mkdirSync(join(work, 'outside'), { mode: 0o755 });
  writeFileSync(outside, `${MARK}\n`, { mode: 0o644 });
  if (user) chownTree(work, user.uid, user.gid);

  const hostProc: ChildProcess = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)', `host-proc-${MARK}`], { stdio: 'ignore' });
  const hostMount = join(work, 'hostmount');
  mkdirSync(hostMount);
  execFileSync('mount', ['-t', 'tmpfs', `host-mount-${MARK}`, hostMount]);
  let requests = 0;
  const server: Server = createServer((_req, res) => {
    requests++;
    res.end('host');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;

  const cli = (args: string[]): Promise<{ status: number; out: string }> =>
    new Promise((resolve, reject) => {
      const argv = [process.execPath, CLI, ...args];
      const child = user
        ? spawn('runuser', ['-u', user.name, '--', ...argv], { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(argv[0]!, argv.slice(1), { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ status: code ?? -1, out });
      });
    });

  const pulled = await cli(['pull', '--root', root, `docker-archive:${archive}`]);
  if (pulled.status !== 0) throw new Error(`pull (${mode}) failed:\n${pulled.out}`);

  let n = 0;
  const hostPaths = [outside, join(work, 'outside'), root, REPO_ROOT, '/work', '/root/.npm', process.execPath, CLI];
  if (user) hostPaths.push(`/home/${user.name}`);
  return {
    mode,
    user,
    work,
    root,
    outside,
    hostMount,
    port,
    requests: () => requests,
    hostPaths,
    async build(script, flags = []) {
      const ctx = join(work, `ctx${++n}`);
      mkdirSync(ctx);
      writeFileSync(join(ctx, 'check.sh'), `set -e\nA=${M1}; B=${M2}\n${script}\n`);
      copyFileSync(join(work, 'escape'), join(ctx, 'escape'));
      writeFileSync(join(ctx, 'Containerfile'), 'FROM busybox\nCOPY check.sh escape /\nRUN sh /check.sh\n');
      if (user) chownTree(ctx, user.uid, user.gid);
      return cli(['build', '--isolation', mode, ...flags, '--root', root, ctx]);
    },
    cleanup() {
      hostProc.kill('SIGKILL');
      server.close();
      try {
        execFileSync('umount', [hostMount]);
      } catch {
        /* not mounted */
      }
      // rootless stores hold files owned by subordinate ids: root removes them.
      execFileSync('rm', ['-rf', work]);
    },
  };
}

/** The property scripts shared by both modes (each exits non-zero with VIOLATION when broken). */
export const props = {
  hostProcesses: () => `
if grep -qs "$A$B" /proc/[0-9]*/cmdline; then ${fail('a host process is visible')}; fi
count=$(ls -d /proc/[0-9]* | wc -l)
[ "$count" -lt 10 ] || ${fail('$count processes visible')}`,

  hostMounts: (h: Harness) => `
if grep -qs "$A$B" /proc/self/mountinfo /proc/mounts; then ${fail('a host mount is listed')}; fi
[ ! -e "${h.hostMount}" ] || ${fail('the host mount point exists')}`,

  hostFiles: (h: Harness) => `
for p in ${h.hostPaths.map((p) => `"${p}"`).join(' ')}; do
  [ ! -e "$p" ] || ${fail('host path $p is visible')}
done
hits=$(find / -xdev -type f -exec grep -l "$A$B" {} + 2>/dev/null || true)
[ -z "$hits" ] || ${fail('marker found in $hits')}`,

  chrootEscape: (h: Harness) => `
out=$(/escape "${h.outside}" "${h.root}" /work 2>&1) || ${fail('chroot escape: $out')}
echo "$out"`,

  descriptors: () => `
sleep 30 &
ls -l /proc/$!/fd > /tmp/fds
kill $!
awk '/ -> / {print $(NF-2) ":" $NF}' /tmp/fds > /tmp/fdlist
while read -r e; do
  case "$e" in [012]:/dev/null|[012]:pipe:*|[012]:socket:*|[012]:/dev/pts/*|*:/check.sh) ;; *) ${fail('descriptor $e leaked')} ;; esac
done < /tmp/fdlist`,

  mountFails: () => `
mkdir -p /mnt/t
if mount -t tmpfs none /mnt/t 2>/dev/null; then ${fail('mount -t tmpfs succeeded')}; fi
if mount -o bind / /mnt/t 2>/dev/null; then ${fail('bind mount succeeded')}; fi
if umount /proc/kcore 2>/dev/null; then ${fail('umount of a masked path succeeded')}; fi
if umount -l /proc 2>/dev/null; then ${fail('umount /proc succeeded')}; fi
if unshare -m true 2>/dev/null; then ${fail('unshare of a new mount namespace succeeded')}; fi`,

  moduleLoading: () => `
printf 'not a module' > /tmp/x.ko
out=$(insmod /tmp/x.ko 2>&1 || true)
case "$out" in *"can't insert"*) ;; *) ${fail('insmod said: $out')} ;; esac
bnd=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
[ $(( 0x$bnd >> 16 & 1 )) -eq 0 ] || ${fail('CAP_SYS_MODULE in the bounding set')}`,

  ptraceCaps: () => `
eff=$(awk '/^CapEff/ {print $2}' /proc/self/status)
bnd=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
[ $(( 0x$eff >> 19 & 1 )) -eq 0 ] || ${fail('CAP_SYS_PTRACE effective')}
[ $(( 0x$bnd >> 19 & 1 )) -eq 0 ] || ${fail('CAP_SYS_PTRACE in the bounding set')}
[ $(( 0x$eff >> 21 & 1 )) -eq 0 ] || ${fail('CAP_SYS_ADMIN effective')}
[ $(( 0x$bnd >> 21 & 1 )) -eq 0 ] || ${fail('CAP_SYS_ADMIN in the bounding set')}
grep -q '^NoNewPrivs:[[:space:]]*1' /proc/self/status || ${fail('no_new_privs not set')}`,

  rawSockets: () => `
eff=$(awk '/^CapEff/ {print $2}' /proc/self/status)
bnd=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
[ $(( 0x$eff >> 13 & 1 )) -eq 0 ] || ${fail('CAP_NET_RAW effective on the host network')}
[ $(( 0x$bnd >> 13 & 1 )) -eq 0 ] || ${fail('CAP_NET_RAW in the bounding set on the host network')}
out=$(arping -c 1 -w 1 -I lo 127.0.0.1 2>&1 || true)
case "$out" in *"not permitted"*) ;; *) ${fail('arping (packet socket) said: $out')} ;; esac`,

  privateNetwork: (h: Harness) => `
ifs=$(awk 'NR>2 {sub(":","",$1); print $1}' /proc/net/dev | tr '\\n' ' ')
[ "$ifs" = "lo " ] || ${fail('interfaces visible: $ifs')}
if ${httpGet(h)} 2>/dev/null | grep -q host; then ${fail('reached a host listener')}; fi`,

  blockDevices: () => `
if mknod /tmp/hostdisk b 254 0 2>/dev/null || mknod /tmp/hostdisk b 7 0 2>/dev/null; then
  if head -c 512 /tmp/hostdisk >/dev/null 2>&1; then ${fail('read a host block device')}; fi
fi
if mknod /tmp/kmem c 1 1 2>/dev/null && head -c 1 /tmp/kmem >/dev/null 2>&1; then ${fail('read /dev/mem')}; fi`,

  masked: () => `
for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats; do
  [ ! -e $p ] || [ "$(head -c 64 $p 2>/dev/null | wc -c)" -eq 0 ] || ${fail('$p is readable')}
done
[ ! -d /sys/firmware ] || [ -z "$(ls -A /sys/firmware)" ] || ${fail('/sys/firmware is visible')}
if (echo 1 > /proc/sys/vm/drop_caches) 2>/dev/null; then ${fail('/proc/sys is writable')}; fi
if (echo h > /proc/sysrq-trigger) 2>/dev/null; then ${fail('/proc/sysrq-trigger is writable')}; fi
if touch /sys/kernel/x 2>/dev/null; then ${fail('/sys is writable')}; fi
hostname evil-$A$B 2>/dev/null || true`,
};
