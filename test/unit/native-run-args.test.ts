import { test } from 'node:test';
import assert from 'node:assert/strict';
import { helperArgs, defaultRootlessIdMap, type RunSpec } from '../../native/index.js';
import { parseSecurityOpts } from '../../builder/steps/run-options.js';

const base: RunSpec = {
  rootfs: { lowerDirs: ['/s/l/A', '/s/l/B'], upperDir: '/s/u', workDir: '/s/w' },
  args: ['/bin/sh', '-c', 'echo hi'],
  env: ['PATH=/bin'],
  cwd: '/app',
  uid: 1000,
  gid: 1001,
  additionalGids: [5],
  hostname: 'h',
  network: 'none',
  isolation: 'oci',
  mounts: [
    { type: 'bind', source: '/cache', target: '/root/.cache' },
    { type: 'tmpfs', target: '/tmp', options: ['size=1m', 'ro'], readonly: true },
  ],
  etcHosts: '/x/hosts',
  stdout: () => {},
  stderr: () => {},
};

test('helperArgs: lowest lower first, mounts, ids, command after --', () => {
  assert.deepEqual(helperArgs(base), [
    '--mode', 'oci', '--net', 'none',
    '--lower', '/s/l/A', '--lower', '/s/l/B', '--upper', '/s/u', '--work', '/s/w',
    '--cwd', '/app', '--uid', '1000', '--gid', '1001', '--group', '5',
    '--hostname', 'h', '--hosts', '/x/hosts',
    '--mount', 'bind', '/cache', '/root/.cache', 'rw', '',
    '--mount', 'tmpfs', 'tmpfs', '/tmp', 'ro', 'size=1m',
    '--env', 'PATH=/bin',
    '--', '/bin/sh', '-c', 'echo hi',
  ]);
});

test('helperArgs: rootless passes id maps', () => {
  const a = helperArgs({
    ...base,
    mounts: [],
    isolation: 'rootless',
    idMap: { uidMap: [{ containerId: 0, hostId: 1000, size: 1 }, { containerId: 1, hostId: 100000, size: 65536 }], gidMap: [{ containerId: 0, hostId: 1000, size: 1 }] },
  });
  assert.deepEqual(a.filter((x, i) => a[i - 1] === '--uidmap' || a[i - 1] === '--gidmap'), ['0:1000:1', '1:100000:65536', '0:1000:1']);
  const d = defaultRootlessIdMap();
  assert.ok(d.idMap.uidMap.length >= 1);
  assert.equal(d.idMap.uidMap[0]!.containerId, 0);
});

test('helperArgs: rejects bad specs', () => {
  assert.throws(() => helperArgs({ ...base, cwd: 'rel' }), /cwd must be absolute/);
  assert.throws(() => helperArgs({ ...base, args: [] }), /args must not be empty/);
  assert.throws(() => helperArgs({ ...base, uid: -1 }), /uid/);
  assert.throws(() => helperArgs({ ...base, env: ['A=\0'] }), /NUL/);
  assert.throws(() => helperArgs({ ...base, isolation: 'chroot' }), /chroot isolation needs rootfs.dir/);
  assert.throws(() => helperArgs({ ...base, mounts: [{ type: 'bind', target: '/x' }] }), /needs a source/);
});

test('helperArgs: the syscall filter is on unless seccomp is false', () => {
  assert.ok(!helperArgs(base).includes('--no-seccomp'));
  assert.ok(!helperArgs({ ...base, seccomp: true }).includes('--no-seccomp'));
  assert.deepEqual(helperArgs({ ...base, seccomp: false }).slice(0, 5), ['--mode', 'oci', '--net', 'none', '--no-seccomp']);
});

test('--security-opt: seccomp=unconfined turns the filter off; what tsbuild does anyway is accepted; the rest refused', () => {
  assert.deepEqual(parseSecurityOpts([]), { seccomp: true });
  assert.deepEqual(parseSecurityOpts(['seccomp=unconfined']), { seccomp: false });
  assert.deepEqual(parseSecurityOpts(['label=disable', 'apparmor=unconfined', 'no-new-privileges', 'no-new-privileges=true']), { seccomp: true });
  assert.throws(() => parseSecurityOpts(['seccomp=/etc/profile.json']), /seccomp profiles are not supported/);
  assert.throws(() => parseSecurityOpts(['label=type:spc_t']), /--security-opt label=type:spc_t is not supported/);
  assert.throws(() => parseSecurityOpts(['no-new-privileges=false']), /is not supported/);
});
