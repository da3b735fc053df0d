// Faults between client and registry: dropped connections mid-blob (resumed with Range), 500s
// (retried with backoff), a flipped byte (clean digest error), and retries running out.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openRegistryDestination, openRegistrySource } from '../../registry/distribution/index.js';
import { isUserError } from '../../oci/errors.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { startFaultProxy, type FaultProxy } from '../helpers/registry-faults.js';
import { makeTestImage } from '../helpers/registry-image.js';
import { dockerRef, pullImage, pushImage, readAll } from '../helpers/registry-copy.js';
import type { ProgressEvent } from '../../registry/distribution/index.js';

let reg: RegistryServer;
let proxy: FaultProxy;
// A 300 KiB random layer so "mid-blob" is really mid-blob.
const img = makeTestImage({ text: 'faults\n', extraLayerBytes: 300 * 1024 });
const big = img.layers[1];
const opts = { tlsVerify: false, retryDelayMs: 10 };

before(async () => {
  reg = await startRegistry();
  const dest = await openRegistryDestination(dockerRef(`${reg.host}/f/img:1`), opts);
  await pushImage(dest, img);
  await dest.close();
  proxy = await startFaultProxy(reg.host);
});
after(async () => {
  await proxy?.stop();
  await reg?.stop();
});

const isBigBlobGet = (r: { method: string; url: string }) => r.method === 'GET' && r.url.endsWith(`/blobs/${big.digest}`);

test('connection dropped mid-blob → resumed with Range, content intact', async () => {
  proxy.requests.length = 0;
  proxy.faults.push({ kind: 'drop', afterBytes: 100 * 1024, times: 1, match: isBigBlobGet });
  const events: ProgressEvent[] = [];
  const src = await openRegistrySource(dockerRef(`${proxy.host}/f/img:1`), { ...opts, onProgress: (e) => events.push(e) });
  const got = await pullImage(src);
  await src.close();
  assert.deepEqual(got.blobs.get(big.digest), big.bytes);
  const gets = proxy.requests.filter(isBigBlobGet);
  assert.equal(gets.length, 2);
  assert.equal(gets[0].injected, 'drop');
  assert.match(gets[1].range ?? '', /^bytes=\d+-$/);
  assert.ok(events.some((e) => e.type === 'blob-resumed'));
});

test('500 twice on manifest and blob → success after retries', async () => {
  proxy.requests.length = 0;
  proxy.faults.push({ kind: 'status', status: 500, times: 2, match: (r) => r.url.includes('/manifests/') });
  proxy.faults.push({ kind: 'status', status: 503, times: 2, match: isBigBlobGet });
  const events: ProgressEvent[] = [];
  const src = await openRegistrySource(dockerRef(`${proxy.host}/f/img:1`), { ...opts, onProgress: (e) => events.push(e) });
  const got = await pullImage(src);
  await src.close();
  assert.equal(got.digest, img.manifest.digest);
  assert.deepEqual(got.blobs.get(big.digest), big.bytes);
  assert.equal(events.filter((e) => e.type === 'retry').length, 4);
});

test('500s on push (blob PUT and manifest PUT) are retried', async () => {
  const img2 = makeTestImage({ text: 'push-retry\n' });
  proxy.faults.push({ kind: 'status', status: 500, times: 1, match: (r) => r.method === 'PUT' && r.url.includes('/blobs/uploads/') });
  proxy.faults.push({ kind: 'status', status: 502, times: 2, match: (r) => r.method === 'PUT' && r.url.includes('/manifests/') });
  const dest = await openRegistryDestination(dockerRef(`${proxy.host}/f/push:1`), opts);
  await pushImage(dest, img2);
  await dest.close();
  const src = await openRegistrySource(dockerRef(`${reg.host}/f/push:1`), opts);
  assert.equal((await pullImage(src)).digest, img2.manifest.digest);
  await src.close();
});

test('retries exhausted → one clear UserError with the attempt count', async () => {
  proxy.faults.push({ kind: 'status', status: 500, times: 10, match: (r) => r.url.includes('/manifests/') });
  const src = await openRegistrySource(dockerRef(`${proxy.host}/f/img:1`), { ...opts, retries: 2 });
  await assert.rejects(src.getManifest(), (e: unknown) => {
    assert.ok(isUserError(e));
    assert.match(e.message, /docker:\/\/127\.0\.0\.1:\d+\/f\/img:1: registry answered 500 Internal Server Error after 3 attempts/);
    return true;
  });
  await src.close();
  proxy.faults.length = 0;
});

test('flipped byte → digest mismatch error, the stream never ends cleanly', async () => {
  proxy.faults.push({ kind: 'flip', offset: 1234, times: 1, match: isBigBlobGet });
  const src = await openRegistrySource(dockerRef(`${proxy.host}/f/img:1`), opts);
  const stream = await src.getBlob({ mediaType: big.mediaType, digest: big.digest, size: big.size });
  let ended = false;
  stream.on('end', () => (ended = true));
  await assert.rejects(readAll(stream), (e: unknown) => {
    assert.ok(isUserError(e));
    assert.match(e.message, /f\/img:1: digest mismatch \(expected sha256:[0-9a-f]{64}, got sha256:[0-9a-f]{64}\)/);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
  assert.equal(ended, false);
  await src.close();
});

test('flipped byte in a manifest fetched by digest → UserError', async () => {
  proxy.faults.push({ kind: 'flip', offset: 20, times: 1, match: (r) => r.url.includes('/manifests/') });
  const src = await openRegistrySource(dockerRef(`${proxy.host}/f/img@${img.manifest.digest}`), opts);
  await assert.rejects(src.getManifest(), (e: unknown) => isUserError(e) && /digest mismatch|not JSON/.test(e.message));
  await src.close();
});
