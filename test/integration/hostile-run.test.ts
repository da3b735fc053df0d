// RUN isolation (default oci mode, as root): from inside a RUN step the host's processes, mounts,
// root filesystem and the builder's own files (store, sources, open descriptors) cannot be seen or
// changed; mount, module loading, raw block devices, host-network access and ptrace of host processes
// fail; /proc/kcore and the other runc-masked paths are empty, /proc/sys and /sys are read-only.
// Each property is a build whose single RUN script exits non-zero (with a reason) when it is violated.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { TempDir, tsbuild, tsbuildOk, REPO_ROOT_FOR_TESTS } from '../fuzz/hostile-run-kit.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';

let tmp: TempDir;
let root: string;
let busybox: BusyboxImage;
let n = 0;
const MARK = randomBytes(8).toString('hex');
// The marker is split in scripts ("$A$B") so the RUN's own command line never contains it whole.
const [M1, M2] = [MARK.slice(0, 8), MARK.slice(8)];
let hostProc: ChildProcess;
let server: Server;
let port = 0;
let requests = 0;
let mnt: string;

before(async () => {
  tmp = new TempDir();
  root = tmp.dir('store');
  busybox = makeBusyboxImage();
  tsbuildOk(['pull', '--root', root, `docker-archive:${busybox.dockerArchive}`]);
  tmp.file('outside/secret.txt', `${MARK}\n`);
  hostProc = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)', `host-proc-${MARK}`], { stdio: 'ignore' });
  mnt = tmp.dir('hostmount');
  execFileSync('mount', ['-t', 'tmpfs', `host-mount-${MARK}`, mnt]);
  server = createServer((_req, res) => {
    requests++;
    res.end('host');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});

after(() => {
  hostProc?.kill('SIGKILL');
  server?.close();
  try {
    execFileSync('umount', [mnt]);
  } catch {
    /* not mounted */
  }
  busybox?.cleanup();
  tmp?.cleanup();
});

/** Builds `FROM busybox` + one RUN of `script` (sh -e); returns the build's output. */
function runScript(script: string, buildFlags: string[] = []): { status: number; out: string } {
  const ctx = tmp.dir(`ctx${++n}`);
  tmp.file(`ctx${n}/check.sh`, `set -e\nA=${M1}; B=${M2}\n${script}\n`);
  tmp.file(`ctx${n}/Containerfile`, `FROM busybox\nCOPY check.sh /check.sh\nRUN sh /check.sh\n`);
  const r = tsbuild(['build', '--isolation', 'oci', ...buildFlags, '--root', root, ctx]);
  return { status: r.status, out: r.stderr + r.stdout };
}

function holds(script: string, buildFlags: string[] = []): void {
  const r = runScript(script, buildFlags);
  assert.equal(r.status, 0, `property violated:\n${r.out}`);
}

const fail = (why: string) => `{ echo "VIOLATION: ${why}"; exit 1; }`;

test('host processes are invisible (own pid namespace)', () => {
  holds(`
if grep -qs "$A$B" /proc/[0-9]*/cmdline; then ${fail('a host process is visible')}; fi
count=$(ls -d /proc/[0-9]* | wc -l)
[ "$count" -lt 10 ] || ${fail('$count processes visible')}
`);
});

test('host mounts are invisible (own mount namespace)', () => {
  holds(`
if grep -qs "$A$B" /proc/self/mountinfo /proc/mounts; then ${fail('a host mount is listed')}; fi
[ ! -e "${mnt}" ] || ${fail('the host mount point exists')}`);
});

test('the host root filesystem and the builder\'s files are invisible', () => {
  holds(`
for p in "${join(tmp.path, 'outside')}" "${root}" "${REPO_ROOT_FOR_TESTS}" /work /root/.npm "${process.execPath}"; do
  [ ! -e "$p" ] || ${fail('host path $p is visible')}
done
hits=$(find / -xdev -type f -exec grep -l "$A$B" {} + 2>/dev/null || true)
[ -z "$hits" ] || ${fail('secret found in $hits')}`);
});

test('no descriptor of the builder leaks into the step', () => {
  // The shell's own descriptors ($$): stdio, and the script it reads; nothing of the store or CLI.
  // What a process the step starts inherits (a background sleep: the shell's own helper fds for
  // redirections and substitutions would be false alarms).
  holds(`
sleep 30 &
ls -l /proc/$!/fd > /tmp/fds
kill $!
awk '/ -> / {print $(NF-2) ":" $NF}' /tmp/fds > /tmp/fdlist
while read -r e; do
  case "$e" in [012]:/dev/null|[012]:pipe:*|[012]:socket:*|[012]:/dev/pts/*|*:/check.sh) ;; *) ${fail('descriptor $e leaked')} ;; esac
done < /tmp/fdlist`);
});

test('mount and umount fail; masked paths cannot be unmasked', () => {
  holds(`
mkdir -p /mnt/t
if mount -t tmpfs none /mnt/t 2>/dev/null; then ${fail('mount -t tmpfs succeeded')}; fi
if mount -o bind / /mnt/t 2>/dev/null; then ${fail('bind mount succeeded')}; fi
if umount /proc/kcore 2>/dev/null; then ${fail('umount of a masked path succeeded')}; fi
if umount -l /proc 2>/dev/null; then ${fail('umount /proc succeeded')}; fi`);
});

test('module loading fails (no CAP_SYS_MODULE)', () => {
  holds(`
printf 'not a module' > /tmp/x.ko
out=$(insmod /tmp/x.ko 2>&1 || true)
case "$out" in *"can't insert"*) ;; *) ${fail('insmod said: $out')} ;; esac
bnd=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
[ $(( 0x$bnd >> 16 & 1 )) -eq 0 ] || ${fail('CAP_SYS_MODULE in the bounding set')}`);
});

test('ptrace of host processes is impossible (pid namespace, no CAP_SYS_PTRACE); no_new_privs is set', () => {
  holds(`
eff=$(awk '/^CapEff/ {print $2}' /proc/self/status)
[ $(( 0x$eff >> 19 & 1 )) -eq 0 ] || ${fail('CAP_SYS_PTRACE effective')}
[ $(( 0x$eff >> 21 & 1 )) -eq 0 ] || ${fail('CAP_SYS_ADMIN effective')}
grep -q '^NoNewPrivs:[[:space:]]*1' /proc/self/status || ${fail('no_new_privs not set')}
`);
});

test('on the default (host) network raw and packet sockets fail: no CAP_NET_RAW', () => {
  holds(`
eff=$(awk '/^CapEff/ {print $2}' /proc/self/status)
bnd=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
[ $(( 0x$eff >> 13 & 1 )) -eq 0 ] || ${fail('CAP_NET_RAW effective on the host network')}
[ $(( 0x$bnd >> 13 & 1 )) -eq 0 ] || ${fail('CAP_NET_RAW in the bounding set on the host network')}
out=$(arping -c 1 -w 1 -I lo 127.0.0.1 2>&1 || true)
case "$out" in *"not permitted"*) ;; *) ${fail('arping (packet socket) said: $out')} ;; esac`);
});

// nc, not wget: Debian's static busybox wget segfaults, so a wget check could never fail. The
// build blocks this process (spawnSync), so the host server cannot answer; what is checked is
// whether a TCP connection to it can be made at all (refused, or held open until `timeout`).
test('--network=private: only lo, host listeners unreachable', () => {
  holds(`
ifs=$(awk 'NR>2 {sub(":","",$1); print $1}' /proc/net/dev | tr '\\n' ' ')
[ "$ifs" = "lo " ] || ${fail('interfaces visible: $ifs')}
out=$(timeout 3 nc 127.0.0.1 ${port} </dev/null 2>&1 || true)
case "$out" in *"Connection refused"*) ;; *) ${fail('reached a host listener: $out')} ;; esac`, ['--network', 'private']);
});

test('control: on the host network the same listener is reachable (so the check above can fail)', () => {
  holds(`
out=$(timeout 3 nc 127.0.0.1 ${port} </dev/null 2>&1 || true)
case "$out" in *"Connection refused"*) ${fail('the host listener was refused on the host network: $out')} ;; esac`);
});

test('block devices of the host cannot be read through mknod', () => {
  holds(`
if mknod /tmp/hostdisk b 254 0 2>/dev/null || mknod /tmp/hostdisk b 7 0 2>/dev/null; then
  if head -c 512 /tmp/hostdisk >/dev/null 2>&1; then ${fail('read a host block device')}; fi
fi
if mknod /tmp/kmem c 1 1 2>/dev/null && head -c 1 /tmp/kmem >/dev/null 2>&1; then ${fail('read /dev/mem')}; fi`);
});

test('/proc/kcore and friends are masked; /proc/sys, /sys and sysrq are read-only', () => {
  const hostName = hostname();
  holds(`
for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats; do
  [ ! -e $p ] || [ "$(head -c 64 $p 2>/dev/null | wc -c)" -eq 0 ] || ${fail('$p is readable')}
done
[ ! -d /sys/firmware ] || [ -z "$(ls -A /sys/firmware)" ] || ${fail('/sys/firmware is visible')}
if (echo 1 > /proc/sys/vm/drop_caches) 2>/dev/null; then ${fail('/proc/sys is writable')}; fi
if (echo h > /proc/sysrq-trigger) 2>/dev/null; then ${fail('/proc/sysrq-trigger is writable')}; fi
if touch /sys/kernel/x 2>/dev/null; then ${fail('/sys is writable')}; fi
hostname evil-$A$B 2>/dev/null || true`);
  assert.equal(hostname(), hostName, 'the host name did not change');
});
