// `tsbuild run`: a stored image runs with its entrypoint, cmd, env, workdir and user, as root and
// as an unprivileged user (rootless), and leaves no mount or process behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { TempDir, tsbuild, tsbuildOk, CLI } from '../helpers/cli.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';
import { ensureTestUser, chownTree, TEST_USER } from '../helpers/native-rootfs.js';

let tmp: TempDir;
let root: string;
let busybox: BusyboxImage;

const CONTAINERFILE = [
  'FROM busybox',
  'ENV GREETING=hello',
  'WORKDIR /srv',
  'COPY --chown=app:app note.txt ./',
  'USER app',
  'ENTRYPOINT ["/bin/sh", "-c"]',
  'CMD ["echo \\"$GREETING from $(id -un) in $(pwd): $(cat note.txt)\\""]',
  '',
].join('\n');

before(() => {
  tmp = new TempDir();
  chmodSync(tmp.path, 0o755);
  root = tmp.dir('store');
  busybox = makeBusyboxImage();
  chmodSync(busybox.dockerArchive, 0o644);
  chmodSync(dirname(busybox.dockerArchive), 0o755);
  tmp.file('ctx/Containerfile', CONTAINERFILE);
  tmp.file('ctx/note.txt', 'a note');
  tsbuildOk(['pull', '--root', root, `docker-archive:${busybox.dockerArchive}`]);
  tsbuildOk(['build', '--root', root, '-t', 'runme', `${tmp.path}/ctx`]);
});
after(() => {
  busybox?.cleanup();
  tmp?.cleanup();
});

/** Host mounts involving this test's files (other test files run at the same time and mount their own). */
function ourMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(tmp.path));
}

test('run uses the image entrypoint, cmd, env, workdir and user; exit codes pass through', () => {
  const before = ourMounts();
  const r = tsbuildOk(['run', '--root', root, 'runme']);
  assert.equal(r.stdout, 'hello from app in /srv: a note\n');
  const custom = tsbuild(['run', '--root', root, '-e', 'GREETING=bye', 'runme', 'echo "$GREETING"; exit 3']);
  assert.equal(custom.stdout, 'bye\n');
  assert.equal(custom.status, 3);
  const asRoot = tsbuildOk(['run', '--rm', '--root', root, '--user', '0', '--entrypoint', '/bin/id', 'runme', '-u']);
  assert.equal(asRoot.stdout, '0\n');
  assert.deepEqual(ourMounts(), before, 'no mount left behind');
});

test('a command that is missing or not executable: one line, the exit codes of podman (127, 126)', () => {
  for (const [cmd, status, msg] of [
    ['nosuchcmd', 127, /^Error: exec nosuchcmd: executable file not found in \$PATH$/m],
    ['/etc/passwd', 126, /^Error: exec \/etc\/passwd: Permission denied$/m],
  ] as const) {
    const r = tsbuild(['run', '--rm', '--root', root, '--entrypoint', cmd, 'runme']);
    assert.equal(r.status, status, r.stderr);
    assert.match(r.stderr, msg);
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  }
});

test('run with chroot isolation (pods) works on a copy; Ctrl-C ends a run with 130 and no internal error', async () => {
  const r = tsbuildOk(['run', '--rm', '--root', root, '--isolation', 'chroot', '--entrypoint', '/bin/sh', 'runme', '-c', 'cat /srv/note.txt; touch /tmp/made']);
  assert.equal(r.stdout, 'a note');
  assert.equal(tsbuild(['run', '--rm', '--root', root, '--isolation', 'chroot', '--entrypoint', '/bin/ls', 'runme', '/tmp/made']).status, 1, 'changes are discarded');
  const child = spawn(process.execPath, [CLI, 'run', '--rm', '--root', root, '--entrypoint', '/bin/sh', 'runme', '-c', 'echo started; sleep 60'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  await new Promise<void>((resolve) => child.stdout.on('data', (d) => ((out += d), out.includes('started') && resolve())));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 130, err);
  assert.doesNotMatch(err, /internal error|\n\s+at /);
});

test('changes made by a container are discarded', () => {
  tsbuildOk(['run', '--root', root, '--user', '0', 'runme', 'echo scribble > /srv/note.txt']);
  assert.equal(tsbuildOk(['run', '--root', root, 'runme', 'cat /srv/note.txt']).stdout, 'a note');
});

test('run applies the default syscall filter; --security-opt seccomp=unconfined lifts it; an unknown option is refused', () => {
  const probe = 'if unshare -U true 2>/dev/null; then echo allowed; else echo refused; fi';
  assert.equal(tsbuildOk(['run', '--root', root, '--user', '0', 'runme', probe]).stdout, 'refused\n');
  assert.equal(tsbuildOk(['run', '--root', root, '--user', '0', '--security-opt', 'seccomp=unconfined', 'runme', probe]).stdout, 'allowed\n');
  const bad = tsbuild(['run', '--root', root, '--security-opt', 'seccomp=/p.json', 'runme', 'true']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^Error: --security-opt seccomp=\/p\.json: seccomp profiles are not supported/m);
});

test('rootless: an unprivileged user builds and runs with its own store', () => {
  const user = ensureTestUser();
  const userRoot = tmp.dir('user-store');
  chownTree(userRoot, user.uid, user.gid);
  chownTree(`${tmp.path}/ctx`, user.uid, user.gid);
  const as = (args: string[]) => spawnSync('runuser', ['-u', TEST_USER, '--', process.execPath, CLI, ...args], { encoding: 'utf8', timeout: 180_000 });
  let r = as(['pull', '--root', userRoot, `docker-archive:${busybox.dockerArchive}`]);
  assert.equal(r.status, 0, r.stderr);
  r = as(['build', '--root', userRoot, '-t', 'runme', `${tmp.path}/ctx`]);
  assert.equal(r.status, 0, r.stderr);
  r = as(['run', '--root', userRoot, 'runme']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'hello from app in /srv: a note\n');
});

test('a reader that goes away (| head) ends the output quietly, without a stack trace', () => {
  for (const args of [`run --root ${root} runme 'yes | head -n 200000'`, `images --root ${root}`]) {
    const r = spawnSync('sh', ['-c', `${process.execPath} ${CLI} ${args} | head -n 1 >/dev/null`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0);
    assert.doesNotMatch(r.stderr, /EPIPE|Unhandled|\n\s+at /, `${args}: ${r.stderr}`);
  }
});
