// Real containers: needs root (and, for the rootless part, a user it creates).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runContainer, detectIsolation, runHelperPath, type RunSpec, type RunResult } from '../../native/index.js';
import { chownTree, descendantsOf, ensureTestUser, findProcesses, makeBusyboxRootfs, tempDir, type TestUser } from '../helpers/native-rootfs.js';

const isRoot = process.getuid?.() === 0;
const skip = !isRoot ? 'needs root' : !existsSync(runHelperPath()) ? 'helper not built' : false;
const DEFAULT_CAPS = '00000000a80425fb';
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Host mounts that involve `dir` (as mount point, source or overlay option). Only those: other test
 * files run at the same time and may mount and unmount their own things.
 */
const mountinfo = (dir: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(dir))
    .sort()
    .join('\n');

interface Layout {
  base: string;
  lower: string;
  upper: string;
  work: string;
}

function layout(owner?: { uid: number; gid: number }): Layout {
  const base = tempDir('tsbuild-native-run-', owner);
  const l = { base, lower: join(base, 'l'), upper: join(base, 'u'), work: join(base, 'w') };
  for (const d of [l.lower, l.upper, l.work]) mkdirSync(d);
  makeBusyboxRootfs(l.lower);
  writeFileSync(join(l.lower, 'etc', 'doomed'), 'bye\n');
  if (owner) chownTree(base, owner.uid, owner.gid);
  return l;
}

async function run(
  l: Layout,
  script: string,
  extra: Partial<RunSpec> = {},
): Promise<RunResult & { out: string; err: string }> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const r = await runContainer({
    rootfs: { lowerDirs: [l.lower], upperDir: l.upper, workDir: l.work },
    args: ['/bin/sh', '-c', script],
    env: [PATH_ENV, 'HOME=/root'],
    cwd: '/',
    uid: 0,
    gid: 0,
    network: 'none',
    isolation: 'oci',
    stdout: (b) => out.push(b),
    stderr: (b) => err.push(b),
    ...extra,
  });
  return { ...r, out: Buffer.concat(out).toString(), err: Buffer.concat(err).toString() };
}

describe('runContainer (oci, root)', { skip }, () => {
  let l: Layout;
  let before0: string;
  before(() => {
    l = layout();
    before0 = mountinfo(l.base);
  });
  after(() => {
    assert.equal(mountinfo(l.base), before0, 'no mount leaked into the host mount namespace');
    rmSync(l.base, { recursive: true, force: true });
  });

  test('streams output and returns exit codes', async () => {
    const chunks: string[] = [];
    const r = await runContainer({
      rootfs: { lowerDirs: [l.lower], upperDir: l.upper, workDir: l.work },
      args: ['echo', 'hi'],
      env: [PATH_ENV],
      cwd: '/',
      uid: 0,
      gid: 0,
      network: 'none',
      isolation: 'oci',
      stdout: (b) => chunks.push(b.toString()),
      stderr: () => {},
    });
    assert.deepEqual(r, { exitCode: 0 });
    assert.equal(chunks.join(''), 'hi\n');
    assert.equal((await run(l, 'exit 3')).exitCode, 3);
    const k = await run(l, 'echo to-err >&2; kill -9 $$');
    assert.equal(k.exitCode, 137);
    assert.equal(k.signal, 'SIGKILL');
    assert.equal(k.err, 'to-err\n');
  });

  test('upper dir gets exactly the changes: new file and whiteout, no mount points', async () => {
    const r = await run(l, 'echo x > /new && rm /etc/doomed && mkdir -p /a/b', {
      etcHosts: '/etc/hosts',
      resolvConf: '/etc/resolv.conf',
      mounts: [{ type: 'tmpfs', target: '/scratch/t' }],
    });
    assert.equal(r.exitCode, 0, r.err);
    assert.equal(readFileSync(join(l.upper, 'new'), 'utf8'), 'x\n');
    const wh = lstatSync(join(l.upper, 'etc', 'doomed'));
    assert.ok(wh.isCharacterDevice());
    assert.equal(wh.rdev, 0);
    assert.deepEqual(readdirSync(l.upper).sort(), ['a', 'etc', 'new']);
    assert.deepEqual(readdirSync(join(l.upper, 'etc')), ['doomed']);
    assert.deepEqual(readdirSync(l.work), [], 'workDir emptied');
    rmSync(l.upper, { recursive: true });
    mkdirSync(l.upper);
  });

  test('network none sees only lo; private brings lo up; hostname set', async () => {
    const r = await run(l, 'cat /proc/net/dev | tail -n +3 | cut -d: -f1; hostname', { hostname: 'builder' });
    assert.equal(r.out.replace(/ /g, ''), 'lo\nbuilder\n');
    const p = await run(l, 'cat /sys/class/net/lo/operstate /sys/class/net/lo/flags', { network: 'private' });
    assert.match(p.out, /0x9/);
  });

  test('host filesystem and processes are not visible', async () => {
    const marker = join('/tmp', `tsbuild-marker-${process.pid}`);
    writeFileSync(marker, 'secret');
    try {
      const r = await run(l, `test -e ${marker} && echo VISIBLE; cat /proc/1/cmdline | tr '\\0' ' '; echo; ls /proc | grep -c '^[0-9]'`);
      assert.ok(!r.out.startsWith('VISIBLE'));
      const [cmd, npids] = r.out.split('\n');
      assert.match(cmd!, /tsbuild-run/, 'pid 1 is the reaper');
      assert.ok(Number(npids) <= 4, `few pids visible: ${npids}`);
    } finally {
      rmSync(marker);
    }
  });

  test('uid/gid/groups as requested; default capabilities', async () => {
    const root = await run(l, 'id; grep Cap /proc/self/status');
    assert.match(root.out, /uid=0\(root\) gid=0\(root\)/);
    for (const k of ['CapPrm', 'CapEff', 'CapBnd']) assert.match(root.out, new RegExp(`${k}:\\s+${DEFAULT_CAPS}`));
    assert.match(root.out, /CapInh:\s+0{16}/);
    assert.match(root.out, /CapAmb:\s+0{16}/);
    const user = await run(l, 'id -u; id -g; id -G; grep Cap /proc/self/status; pwd; touch f 2>&1', {
      uid: 1000,
      gid: 1001,
      additionalGids: [1002, 1003],
      cwd: '/home/u',
    });
    const lines = user.out.split('\n');
    assert.deepEqual(lines.slice(0, 3), ['1000', '1001', '1001 1002 1003']);
    assert.match(user.out, /CapEff:\s+0{16}/);
    assert.match(user.out, new RegExp(`CapBnd:\\s+${DEFAULT_CAPS}`));
    assert.match(user.out, /\/home\/u\n/);
    assert.match(user.out, /Permission denied/, 'cwd created root-owned');
    rmSync(l.upper, { recursive: true });
    mkdirSync(l.upper);
  });

  test('bind mounts (ro/rw) and etc files', async () => {
    const src = tempDir('tsbuild-native-bind-');
    writeFileSync(join(src, 'in'), 'from host\n');
    try {
      const r = await run(l, 'cat /m/ro/in; echo w > /m/ro/x 2>/dev/null || echo ro-ok; echo w > /m/rw/out; cat /etc/hosts | head -1', {
        mounts: [
          { type: 'bind', source: src, target: '/m/ro', readonly: true },
          { type: 'bind', source: src, target: '/m/rw' },
        ],
        etcHosts: '/etc/hosts',
      });
      assert.equal(r.exitCode, 0, r.err);
      assert.match(r.out, /from host\nro-ok\n/);
      assert.equal(readFileSync(join(src, 'out'), 'utf8'), 'w\n');
      assert.ok(r.out.includes(readFileSync('/etc/hosts', 'utf8').split('\n')[0]!));
      assert.deepEqual(readdirSync(l.upper), [], 'mount targets not in the upper dir');
    } finally {
      rmSync(src, { recursive: true, force: true });
    }
  });

  test('command not found is a RunError with 127', async () => {
    await assert.rejects(
      runContainer({
        rootfs: { lowerDirs: [l.lower], upperDir: l.upper, workDir: l.work },
        args: ['no-such-cmd'],
        env: [PATH_ENV],
        cwd: '/',
        uid: 0,
        gid: 0,
        network: 'none',
        isolation: 'oci',
        stdout: () => {},
        stderr: () => {},
      }),
      { name: 'RunError', code: 'ERR_TSBUILD_RUN', exitCode: 127, message: /no-such-cmd: executable file not found/ },
    );
  });

  test('orphans die with the step; abort kills everything and cleans up', async () => {
    const bg = await run(l, 'sleep 4711 & echo started');
    assert.equal(bg.out, 'started\n');
    assert.deepEqual(findProcesses('sleep', '4711'), []);

    const ac = new AbortController();
    const p = run(l, 'sleep 4712 & sleep 4713', { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(findProcesses('sleep', '4713').length, 1);
    ac.abort();
    await assert.rejects(p, { name: 'AbortError' });
    assert.deepEqual(findProcesses('sleep', '4712'), []);
    assert.deepEqual(findProcesses('sleep', '4713'), []);
    assert.deepEqual(descendantsOf(process.pid, findProcesses('tsbuild-run')), []);
    assert.deepEqual(readdirSync(l.work), []);
  });

  test('builder death kills the step (pdeathsig)', async (t) => {
    const here = dirname(fileURLToPath(import.meta.url));
    const driver = join(here, '..', 'helpers', `native-run-driver.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`);
    const spec = { rootfs: { lowerDirs: [l.lower], upperDir: l.upper, workDir: l.work }, args: ['sleep', '4714'], env: [PATH_ENV], cwd: '/', uid: 0, gid: 0, network: 'none', isolation: 'oci' };
    const tsx = join(here, '..', '..', 'node_modules', '.bin', 'tsx');
    const cmd = driver.endsWith('.ts') ? tsx : process.execPath;
    const { spawn } = await import('node:child_process');
    const c = spawn(cmd, [driver, JSON.stringify(spec)], { stdio: 'ignore' });
    t.after(() => { try { process.kill(c.pid!, 'SIGKILL'); } catch { /* gone */ } });
    for (let i = 0; i < 50 && findProcesses('sleep', '4714').length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(findProcesses('sleep', '4714').length, 1);
    const helpers = descendantsOf(c.pid!, findProcesses('tsbuild-run'));
    assert.ok(helpers.length > 0, 'the driver runs the helper');
    const alive = () => findProcesses('tsbuild-run').filter((pid) => helpers.includes(pid));
    // SIGKILL the whole driver (tsx spawns a node child): no chance to clean up in JS
    execFileSync('pkill', ['-KILL', '-P', String(c.pid)]);
    process.kill(c.pid!, 'SIGKILL');
    for (let i = 0; i < 50 && findProcesses('sleep', '4714').length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(findProcesses('sleep', '4714'), []);
    for (let i = 0; i < 30 && alive().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(alive(), []);
  });

  test('plain dir rootfs (oci and chroot): mount points removed afterwards', async () => {
    const d = tempDir('tsbuild-native-dir-');
    makeBusyboxRootfs(d);
    const beforeList = readdirSync(d).sort();
    try {
      for (const isolation of ['oci', 'chroot'] as const) {
        const out: Buffer[] = [];
        const r = await runContainer({
          rootfs: { dir: d },
          args: ['/bin/sh', '-c', 'echo x > /made; cat /proc/1/status | head -1; ls /dev/null; id -u'],
          env: [PATH_ENV],
          cwd: '/',
          uid: 0,
          gid: 0,
          network: 'none',
          isolation,
          etcHosts: '/etc/hosts',
          mounts: [{ type: 'tmpfs', target: '/run/x' }],
          stdout: (b) => out.push(b),
          stderr: (b) => out.push(b),
        });
        assert.equal(r.exitCode, 0, Buffer.concat(out).toString());
        assert.match(Buffer.concat(out).toString(), /\/dev\/null\n0\n/);
        assert.deepEqual(readdirSync(d).sort(), [...beforeList, 'made'].sort(), isolation);
        assert.ok(!existsSync(join(d, 'etc', 'hosts')));
        rmSync(join(d, 'made'));
      }
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test('detectIsolation', () => {
    const d = detectIsolation();
    assert.deepEqual(d.oci, { ok: true });
    assert.equal(typeof d.rootless.ok, 'boolean');
    assert.deepEqual(d.chroot, { ok: true });
  });
});

describe('runContainer as an unprivileged user (rootless)', { skip }, () => {
  let user: TestUser;
  let l: Layout;
  const here = dirname(fileURLToPath(import.meta.url));
  const driver = join(here, '..', 'helpers', `native-run-driver.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`);
  const tsx = join(here, '..', '..', 'node_modules', '.bin', 'tsx');
  const drive = (spec: object): { result?: RunResult; error?: { name: string; message: string; exitCode?: number }; stdout: string; stderr: string; detect?: Record<string, { ok: boolean; why?: string }> } => {
    const runner = driver.endsWith('.ts') ? [tsx, driver] : [process.execPath, driver];
    const out = execFileSync('runuser', ['-u', user.name, '--', ...runner, JSON.stringify(spec)], { encoding: 'utf8', cwd: '/tmp' });
    return JSON.parse(out.trim().split('\n').pop()!);
  };
  const spec = (script: string, extra: object = {}) => ({
    rootfs: { lowerDirs: [l.lower], upperDir: l.upper, workDir: l.work },
    args: ['/bin/sh', '-c', script],
    env: [PATH_ENV],
    cwd: '/',
    uid: 0,
    gid: 0,
    network: 'none',
    isolation: 'rootless',
    ...extra,
  });
  let before0: string;
  before(() => {
    user = ensureTestUser();
    l = layout(user);
    before0 = mountinfo(l.base);
  });
  after(() => {
    assert.equal(mountinfo(l.base), before0, 'no mount leaked into the host mount namespace');
    rmSync(l.base, { recursive: true, force: true });
  });

  test('detectIsolation as the user', () => {
    const d = drive({ detect: true }).detect!;
    assert.equal(d['oci']!.ok, false);
    assert.deepEqual(d['rootless'], { ok: true });
    assert.deepEqual(d['chroot'], { ok: true });
  });

  test('runs, streams, exit codes, caps, isolation', () => {
    const r = drive(spec('echo hi; id -u; grep CapEff /proc/self/status; cat /proc/net/dev | tail -n +3 | cut -d: -f1; test -e /tmp/tsbuild-test-host && echo visible; exit 5'));
    assert.deepEqual(r.result, { exitCode: 5 });
    assert.match(r.stdout, new RegExp(`^hi\\n0\\nCapEff:\\s+${DEFAULT_CAPS}\\n\\s*lo\\n$`));
  });

  test('upper gets the file and a 0/0 whiteout, owned by the user', () => {
    const r = drive(spec('echo x > /new; rm /etc/doomed'));
    assert.deepEqual(r.result, { exitCode: 0 }, r.stderr + JSON.stringify(r.error));
    const st = lstatSync(join(l.upper, 'new'));
    assert.equal(st.uid, user.uid);
    const wh = lstatSync(join(l.upper, 'etc', 'doomed'));
    assert.ok(wh.isCharacterDevice());
    assert.equal(wh.rdev, 0);
    assert.deepEqual(readdirSync(l.upper).sort(), ['etc', 'new']);
    assert.deepEqual(readdirSync(l.work), []);
  });

  test('non-root uid inside via /etc/subuid ranges', { skip: false }, (t) => {
    if (!user.subids) return t.skip('no subuid range for the test user');
    const r = drive(spec('id -u; id -g; touch /tmp/by-1000; stat -c %u /tmp/by-1000', { uid: 1000, gid: 1000, network: 'private' }));
    assert.deepEqual(r.result, { exitCode: 0 }, r.stderr + JSON.stringify(r.error));
    assert.equal(r.stdout, '1000\n1000\n1000\n');
    const st = lstatSync(join(l.upper, 'tmp', 'by-1000'));
    const sub = Number(readFileSync('/etc/subuid', 'utf8').split('\n').find((x) => x.startsWith(`${user.name}:`))!.split(':')[1]);
    assert.equal(st.uid, sub + 999, 'container uid 1000 = first subuid + 999');
  });

  test('chroot isolation on a plain dir as the user', () => {
    const d = tempDir('tsbuild-native-chroot-', user);
    makeBusyboxRootfs(d);
    chownTree(d, user.uid, user.gid);
    try {
      const r = drive({ rootfs: { dir: d }, args: ['/bin/sh', '-c', 'echo ok > /made; id -u; ls /dev/null'], env: [PATH_ENV], cwd: '/', uid: 0, gid: 0, network: 'none', isolation: 'chroot' });
      assert.deepEqual(r.result, { exitCode: 0 }, r.stderr + JSON.stringify(r.error));
      assert.equal(r.stdout, '0\n/dev/null\n');
      assert.equal(readFileSync(join(d, 'made'), 'utf8'), 'ok\n');
      assert.ok(!existsSync(join(d, 'proc')) && !existsSync(join(d, 'dev')), 'mount points removed');
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test('abort as the user leaves nothing behind', () => {
    const r = drive({ ...spec('sleep 4721 & sleep 4722'), abortAfterMs: 400 });
    assert.equal(r.error?.name, 'AbortError');
    assert.deepEqual(findProcesses('sleep', '4721'), []);
    assert.deepEqual(findProcesses('sleep', '4722'), []);
    assert.deepEqual(readdirSync(l.work), []);
  });
});
