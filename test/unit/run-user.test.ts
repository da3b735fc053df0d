// USER resolution for RUN and `tsbuild run`, against runc's rules (what buildah and Docker do).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveRunUser } from '../../builder/steps/run-user.js';
import type { RootfsReader } from '../../builder/steps/layer-entry.js';
import { UserError } from '../../oci/errors.js';

function rootfs(files: Record<string, string>): RootfsReader {
  return {
    resolve: async (p) => p,
    lstat: async () => undefined,
    readFile: async (p) => (p in files ? Buffer.from(files[p]!) : undefined),
  };
}

const BUSYBOX = rootfs({
  '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n',
  '/etc/group': 'root:x:0:\nwheel:x:10:root\napp:x:1000:\ndev:x:2000:app,root\n',
});

test('no USER is uid 0, also in an image without /etc/passwd (FROM scratch)', async () => {
  assert.deepEqual(await resolveRunUser(undefined, rootfs({})), { uid: 0, gid: 0, groups: [0], home: '/' });
  assert.deepEqual(await resolveRunUser('', rootfs({})), { uid: 0, gid: 0, groups: [0], home: '/' });
  // With a passwd file, uid 0's entry gives HOME and group memberships.
  assert.deepEqual(await resolveRunUser(undefined, BUSYBOX), { uid: 0, gid: 0, groups: [0, 10, 2000], home: '/root' });
});

test('supplementary groups: the primary group first, then the groups listing the user', async () => {
  assert.deepEqual(await resolveRunUser('app', BUSYBOX), { uid: 1000, gid: 1000, groups: [1000, 2000], home: '/home/app' });
  assert.deepEqual(await resolveRunUser('app:', BUSYBOX), { uid: 1000, gid: 1000, groups: [1000, 2000], home: '/home/app' }, 'an empty group is no group (runc)');
  assert.deepEqual(await resolveRunUser('1234:4321', BUSYBOX), { uid: 1234, gid: 4321, groups: [4321], home: '/' });
});

test('with a group given, that group is the only one (runc: supplementary groups only in the implicit form)', async () => {
  assert.deepEqual(await resolveRunUser('app:wheel', BUSYBOX), { uid: 1000, gid: 10, groups: [10], home: '/home/app' });
  assert.deepEqual(await resolveRunUser('root:app', BUSYBOX), { uid: 0, gid: 1000, groups: [1000], home: '/root' }, 'not wheel and dev, which list root');
  assert.deepEqual(await resolveRunUser('app:4343', BUSYBOX), { uid: 1000, gid: 4343, groups: [4343], home: '/home/app' });
});

test('a user or group name the image does not have is an error', async () => {
  await assert.rejects(resolveRunUser('nobody', BUSYBOX), (e: unknown) => e instanceof UserError && /unable to find user nobody/.test(e.message));
  await assert.rejects(resolveRunUser('app', rootfs({})), UserError);
  await assert.rejects(resolveRunUser('app:nogroup', BUSYBOX), /unable to find group nogroup/);
});
