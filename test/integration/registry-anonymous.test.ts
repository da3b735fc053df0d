// Anonymous push and pull against a real docker-registry over plain http.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openRegistryDestination, openRegistrySource } from '../../registry/distribution/index.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { makeTestImage } from '../helpers/registry-image.js';
import { dockerRef, pullImage, pushImage } from '../helpers/registry-copy.js';
import { isUserError } from '../../oci/errors.js';

let reg: RegistryServer;
before(async () => {
  reg = await startRegistry();
});
after(async () => {
  await reg?.stop();
});

test('push then pull a crafted image (http, tlsVerify=false)', async () => {
  const img = makeTestImage();
  const ref = dockerRef(`${reg.host}/test/hello:v1`);
  const dest = await openRegistryDestination(ref, { tlsVerify: false });
  await pushImage(dest, img);
  await dest.close();

  const src = await openRegistrySource(ref, { tlsVerify: false });
  const got = await pullImage(src);
  await src.close();
  assert.equal(got.digest, img.manifest.digest);
  assert.deepEqual(got.blobs.get(img.layers[0].digest), img.layers[0].bytes);
  assert.deepEqual(got.blobs.get(img.config.digest), img.config.bytes);
});

test('pull by digest works and an unknown tag is one clear UserError', async () => {
  const img = makeTestImage({ text: 'by digest\n' });
  const dest = await openRegistryDestination(dockerRef(`${reg.host}/test/dig:v1`), { tlsVerify: false });
  await pushImage(dest, img);
  await dest.close();
  const src = await openRegistrySource(dockerRef(`${reg.host}/test/dig@${img.manifest.digest}`), { tlsVerify: false });
  assert.equal((await src.getManifest()).digest, img.manifest.digest);
  await src.close();

  const missing = await openRegistrySource(dockerRef(`${reg.host}/test/dig:nope`), { tlsVerify: false });
  await assert.rejects(missing.getManifest(), (e: unknown) => {
    assert.ok(isUserError(e));
    assert.match(e.message, /docker:\/\/127\.0\.0\.1:\d+\/test\/dig:nope/);
    assert.match(e.message, /MANIFEST_UNKNOWN/);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
  await missing.close();
});

test('https is required unless tlsVerify=false (no silent http fallback)', async () => {
  const src = await openRegistrySource(dockerRef(`${reg.host}/test/hello:v1`), { retries: 0 });
  await assert.rejects(src.getManifest(), (e: unknown) => isUserError(e) && /127\.0\.0\.1/.test(e.message) && !e.message.includes('\n'));
  await src.close();
});
