// RUN isolation with --isolation rootless, run as the unprivileged user tsbuild-test on a store it
// owns: the properties of hostile-run.test.ts (oci mode) hold here too — host processes, mounts,
// root filesystem and the builder's files invisible; mount, module loading, raw sockets on the host
// network and ptrace fail; /proc/kcore & co masked; a chroot(2) escape stays inside — plus the
// rootless one: the step's root is the unprivileged user on the host, not root.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { fail, httpGet, props, startHarness, type Harness } from './hostile-run-kit.js';

let h: Harness;
before(async () => {
  h = await startHarness('rootless');
});
after(() => h?.cleanup());

async function passes(script: string, flags: string[] = []): Promise<string> {
  const r = await h.build(script, flags);
  assert.equal(r.status, 0, `property violated:\n${r.out}`);
  return r.out;
}
async function holds(script: string, flags: string[] = []): Promise<void> {
  await passes(script, flags);
}

test('rootless: host processes are invisible (own pid namespace)', () => holds(props.hostProcesses()));
test('rootless: host mounts are invisible (own mount namespace, old root detached)', () => holds(props.hostMounts(h)));
test("rootless: the host root filesystem and the builder's files (store, sources, home) are invisible", () => holds(props.hostFiles(h)));
test('rootless: a chroot(2) escape stays inside the container (pivot_root)', async () => {
  assert.match(await passes(props.chrootEscape(h)), /contained/);
});
test('rootless: no descriptor of the builder leaks into the step', () => holds(props.descriptors()));
test('rootless: mount, umount and unshare -m fail; masked paths cannot be unmasked', () => holds(props.mountFails()));
test('rootless: module loading fails (no CAP_SYS_MODULE)', () => holds(props.moduleLoading()));
test('rootless: no CAP_SYS_PTRACE or CAP_SYS_ADMIN; no_new_privs is set', () => holds(props.ptraceCaps()));
test('rootless: on the default (host) network raw and packet sockets fail', () => holds(props.rawSockets()));
test('rootless: --network=private: only lo, host listeners unreachable', async () => {
  const before = h.requests();
  await holds(props.privateNetwork(h), ['--network', 'private']);
  assert.equal(h.requests(), before, 'the host server saw no request');
});
test('rootless: block devices cannot be made or read', () => holds(props.blockDevices()));
test('rootless: /proc/kcore and friends are masked; /proc/sys, /sys and sysrq are read-only', async () => {
  const name = hostname();
  await holds(props.masked());
  assert.equal(hostname(), name, 'the host name did not change');
});

test("rootless: the step's root is the unprivileged user on the host (user namespace)", async () => {
  const uid = h.user!.uid;
  // uid_map: "0 <host id> <count>"; container 0 is the user itself (subordinate ranges map the
  // rest), so nothing in the step is ever host root.
  await holds(`
[ "$(id -u)" = 0 ] || ${fail('not root in the step: $(id -u)')}
first=$(awk 'NR==1 {print $1 ":" $2}' /proc/self/uid_map)
[ "$first" = "0:${uid}" ] || ${fail('uid_map starts with $first')}
if awk '$2 == 0' /proc/self/uid_map | grep -q .; then ${fail('host root is mapped')}; fi
if awk '$2 == 0' /proc/self/gid_map | grep -q .; then ${fail('host root group is mapped')}; fi`);
});

test('rootless: control — on the default network the host listener answers (the private-network test is not vacuous)', async () => {
  const before = h.requests();
  await holds(`${httpGet(h)} | grep -q host`);
  assert.equal(h.requests(), before + 1);
});
