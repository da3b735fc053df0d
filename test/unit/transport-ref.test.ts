import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTransportReference } from '../../registry/transport-ref.js';
import { UserError } from '../../oci/errors.js';

test('oci: with and without tag; the first colon splits', () => {
  assert.deepEqual(parseTransportReference('oci:/tmp/l'), { transport: 'oci', path: '/tmp/l', raw: 'oci:/tmp/l' });
  assert.deepEqual(parseTransportReference('oci:/tmp/l:v1'), { transport: 'oci', path: '/tmp/l', tag: 'v1', raw: 'oci:/tmp/l:v1' });
  const r = parseTransportReference('oci:dir:docker.io/library/busybox:latest');
  assert.equal(r.path, 'dir');
  assert.equal(r.tag, 'docker.io/library/busybox:latest');
});

test('oci-archive and docker-archive', () => {
  assert.deepEqual(parseTransportReference('oci-archive:a.tar:x'), { transport: 'oci-archive', path: 'a.tar', tag: 'x', raw: 'oci-archive:a.tar:x' });
  assert.equal(parseTransportReference('docker-archive:a.tar:busybox:latest').tag, 'busybox:latest');
  assert.equal(parseTransportReference('docker-archive:a.tar:@1').tag, '@1');
  assert.equal(parseTransportReference('docker-archive:a.tar').tag, undefined);
  assert.throws(() => parseTransportReference('docker-archive:a.tar:busybox@sha256:' + 'a'.repeat(64)), UserError);
});

test('docker://', () => {
  assert.deepEqual(parseTransportReference('docker://busybox'), { transport: 'docker', path: 'busybox', raw: 'docker://busybox' });
  assert.throws(() => parseTransportReference('docker://'), UserError);
});

test('unknown or malformed transports are user errors naming the input', () => {
  for (const s of ['busybox', 'dir:/x', 'containers-storage:x', ':x', 'oci:', 'oci:/x:']) {
    assert.throws(() => parseTransportReference(s), (e: unknown) => e instanceof UserError && e.message.includes(JSON.stringify(s)), s);
  }
  assert.throws(() => parseTransportReference('dir:/x'), /unknown transport in "dir:\/x": use oci:, oci-archive:, docker-archive: or docker:\/\//);
});
