// RUN isolation with --isolation chroot, as root. chroot mode takes whatever namespaces the machine
// allows (pid, mount, uts, ipc, and network unless --network=host), degrading step by step with a
// "namespaces not permitted" warning where a locked-down pod forbids them; this machine allows all,
// so the properties of hostile-run.test.ts (oci mode) are asserted to hold, and each test checks
// the build did not degrade. Where a namespace is missing the documented weaker behaviour is:
// without a pid namespace host processes are visible; without a mount namespace /proc, /dev, /sys
// and the masks are not set up (the step sees the rootfs copy only).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { httpGet, props, startHarness, type Harness } from './hostile-run-kit.js';

let h: Harness;
before(async () => {
  h = await startHarness('chroot');
});
after(() => h?.cleanup());

async function passes(script: string, flags: string[] = []): Promise<string> {
  const r = await h.build(script, flags);
  assert.equal(r.status, 0, `property violated:\n${r.out}`);
  assert.doesNotMatch(r.out, /namespaces not permitted/, 'chroot mode degraded on this machine');
  return r.out;
}
async function holds(script: string, flags: string[] = []): Promise<void> {
  await passes(script, flags);
}

test('chroot: host processes are invisible (own pid namespace)', () => holds(props.hostProcesses()));
test('chroot: host mounts are invisible (own mount namespace)', () => holds(props.hostMounts(h)));
test("chroot: the host root filesystem and the builder's files (store, sources) are invisible", () => holds(props.hostFiles(h)));
test('chroot: a chroot(2) escape stays inside the container', async () => {
  assert.match(await passes(props.chrootEscape(h)), /contained/);
});
test('chroot: no descriptor of the builder leaks into the step', () => holds(props.descriptors()));
test('chroot: mount, umount and unshare -m fail; masked paths cannot be unmasked', () => holds(props.mountFails()));
test('chroot: module loading fails (no CAP_SYS_MODULE)', () => holds(props.moduleLoading()));
test('chroot: no CAP_SYS_PTRACE or CAP_SYS_ADMIN; no_new_privs is set', () => holds(props.ptraceCaps()));
test('chroot: on the default (host) network raw and packet sockets fail', () => holds(props.rawSockets()));
test('chroot: --network=private: only lo, host listeners unreachable', async () => {
  const before = h.requests();
  await holds(props.privateNetwork(h), ['--network', 'private']);
  assert.equal(h.requests(), before, 'the host server saw no request');
});
test('chroot: block devices of the host cannot be read through mknod', () => holds(props.blockDevices()));
test('chroot: /proc/kcore and friends are masked; /proc/sys, /sys and sysrq are read-only', async () => {
  const name = hostname();
  await holds(props.masked());
  assert.equal(hostname(), name, 'the host name did not change');
});

test('chroot: control — on the default network the host listener answers (the private-network test is not vacuous)', async () => {
  const before = h.requests();
  await holds(`${httpGet(h)} | grep -q host`);
  assert.equal(h.requests(), before + 1);
});
