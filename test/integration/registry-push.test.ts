// Push economics: existing blobs are skipped (HEAD), blobs known in a sibling repository are
// mounted (POST ?mount=&from=), big blobs go up in PATCH chunks. Observed through a counting proxy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BlobLocations, openRegistryDestination, openRegistrySource, type ProgressEvent } from '../../registry/distribution/index.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { startFaultProxy, type FaultProxy } from '../helpers/registry-faults.js';
import { makeTestImage } from '../helpers/registry-image.js';
import { dockerRef, pullImage, pushImage } from '../helpers/registry-copy.js';
import { copyImage } from '../../registry/copy.js';
import { isUserError } from '../../oci/errors.js';
import { MemorySource } from '../../registry/memory.js';
import { execFileSync } from 'node:child_process';
import { TempDir, tsbuildAsync, tsbuildOk } from '../helpers/cli.js';

let reg: RegistryServer;
let proxy: FaultProxy;
const opts = { tlsVerify: false, retryDelayMs: 10 };
before(async () => {
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.host);
});
after(async () => {
  await proxy?.stop();
  await reg?.stop();
});

test('second push of the same image skips every blob', async () => {
  const img = makeTestImage({ text: 'skip\n' });
  const ref = dockerRef(`${proxy.host}/p/skip:1`);
  for (const round of [1, 2]) {
    proxy.requests.length = 0;
    const events: ProgressEvent[] = [];
    const dest = await openRegistryDestination(ref, { ...opts, onProgress: (e) => events.push(e) });
    await pushImage(dest, img);
    await dest.close();
    const uploads = proxy.requests.filter((r) => r.method === 'POST' && r.url.includes('/blobs/uploads/'));
    const heads = proxy.requests.filter((r) => r.method === 'HEAD');
    assert.equal(heads.length, 2, `round ${round}: one HEAD per blob`);
    assert.equal(uploads.length, round === 1 ? 2 : 0);
    assert.equal(events.filter((e) => e.type === 'blob-skipped').length, round === 1 ? 0 : 2);
  }
});

test('re-pushing an image the tag already names writes no manifest; anything else still does', async () => {
  const a = makeTestImage({ text: 'same image\n' });
  const b = makeTestImage({ text: 'another image\n' });
  const source = (img: typeof a) => new MemorySource('memory', img.manifest, new Map([img.config, ...img.layers].map((x) => [x.digest, x.bytes])));
  const ref = dockerRef(`${proxy.host}/p/same:1`);
  const push = async (img: typeof a) => {
    proxy.requests.length = 0;
    let reported: boolean | undefined;
    const dest = await openRegistryDestination(ref, opts);
    try {
      assert.equal((await copyImage(source(img), dest, { onProgress: (e) => e.kind === 'manifest' && (reported = e.unchanged === true) })).manifestDigest, img.manifest.digest);
    } finally {
      await dest.close();
    }
    const manifestRequests = proxy.requests.filter((r) => r.url.includes('/manifests/'));
    const put = manifestRequests.filter((r) => r.method === 'PUT').length;
    assert.equal(reported, put === 0, 'the manifest event says whether it was written');
    return { put, head: manifestRequests.filter((r) => r.method === 'HEAD').length };
  };
  const tagged = async () => {
    const src = await openRegistrySource(ref, opts);
    try {
      return (await src.getManifest()).digest;
    } finally {
      await src.close();
    }
  };

  assert.deepEqual(await push(a), { head: 1, put: 1 }, 'first push: the tag names nothing yet');
  assert.deepEqual(await push(a), { head: 1, put: 0 }, 'the same image again: asked, not written');
  assert.equal(await tagged(), a.manifest.digest);
  assert.deepEqual(await push(b), { head: 1, put: 1 }, 'another image under the same tag');
  assert.equal(await tagged(), b.manifest.digest);
  assert.deepEqual(await push(a), { head: 1, put: 1 }, 'back to the first one: the tag named the other');
  // The tag names this manifest, but the registry says one of its blobs is missing: the blob goes
  // up, and the manifest is written again rather than trusted.
  proxy.faults.push({ kind: 'status', status: 404, times: 1, match: (r) => r.method === 'HEAD' && r.url.endsWith(`/blobs/${a.layers[0]!.digest}`) });
  assert.deepEqual(await push(a), { head: 1, put: 1 });
  assert.equal(await tagged(), a.manifest.digest);
});

test('blob known in another repository of the registry is mounted, not uploaded', async () => {
  BlobLocations.clear();
  const img = makeTestImage({ text: 'mount me\n' });
  const a = await openRegistryDestination(dockerRef(`${proxy.host}/p/a:1`), opts);
  await pushImage(a, img);
  await a.close();
  proxy.requests.length = 0;
  const events: ProgressEvent[] = [];
  const b = await openRegistryDestination(dockerRef(`${proxy.host}/p/b:1`), { ...opts, onProgress: (e) => events.push(e) });
  await pushImage(b, img);
  await b.close();
  const mounts = proxy.requests.filter((r) => r.method === 'POST' && r.url.includes('mount=') && r.url.includes('from=p%2Fa'));
  assert.equal(mounts.length, 2);
  assert.ok(mounts.every((r) => r.status === 201));
  assert.equal(proxy.requests.filter((r) => r.method === 'PUT' && r.url.includes('/blobs/')).length, 0, 'no blob bytes uploaded');
  assert.equal(events.filter((e) => e.type === 'blob-mounted').length, 2);
  const src = await openRegistrySource(dockerRef(`${reg.host}/p/b:1`), opts);
  assert.equal((await pullImage(src)).digest, img.manifest.digest);
  await src.close();
});

test('a mount the registry refuses (stale or foreign location) falls back to an upload', async () => {
  BlobLocations.clear();
  const img = makeTestImage({ text: 'refused mount\n' });
  const a = await openRegistryDestination(dockerRef(`${proxy.host}/p/refuse-a:1`), opts);
  await pushImage(a, img);
  await a.close();
  proxy.requests.length = 0;
  proxy.faults.push({ kind: 'status', status: 403, times: 10, match: (r) => r.method === 'POST' && r.url.includes('mount=') });
  const b = await openRegistryDestination(dockerRef(`${proxy.host}/p/refuse-b:1`), opts);
  await pushImage(b, img);
  await b.close();
  proxy.faults.length = 0;
  const posts = proxy.requests.filter((r) => r.method === 'POST');
  assert.equal(posts.filter((r) => r.url.includes('mount=') && r.status === 403).length, 2, 'each blob tried once as a mount');
  assert.equal(posts.filter((r) => !r.url.includes('mount=')).length, 2, 'then uploaded');
  const src = await openRegistrySource(dockerRef(`${reg.host}/p/refuse-b:1`), opts);
  assert.equal((await pullImage(src)).digest, img.manifest.digest);
  await src.close();
});

test('a pull teaches the mount source too', async () => {
  BlobLocations.clear();
  const img = makeTestImage({ text: 'pulled then pushed elsewhere\n' });
  const a = await openRegistryDestination(dockerRef(`${reg.host}/p/src:1`), opts);
  await pushImage(a, img);
  await a.close();
  BlobLocations.clear();
  const src = await openRegistrySource(dockerRef(`${proxy.host}/p/src:1`), opts);
  await pullImage(src);
  await src.close();
  proxy.requests.length = 0;
  const b = await openRegistryDestination(dockerRef(`${proxy.host}/p/dst:1`), opts);
  await pushImage(b, img);
  await b.close();
  assert.equal(proxy.requests.filter((r) => r.url.includes('mount=') && r.status === 201).length, 2);
});

test('chunked upload (PATCH) for blobs larger than chunkSize, with a retried chunk', async () => {
  const img = makeTestImage({ text: 'chunked\n', extraLayerBytes: 200 * 1024 });
  proxy.requests.length = 0;
  proxy.faults.push({ kind: 'status', status: 503, times: 1, match: (r) => r.method === 'PATCH' });
  const dest = await openRegistryDestination(dockerRef(`${proxy.host}/p/chunked:1`), { ...opts, chunkSize: 64 * 1024 });
  await pushImage(dest, img);
  await dest.close();
  const patches = proxy.requests.filter((r) => r.method === 'PATCH');
  assert.ok(patches.length >= 4, `expected ≥4 PATCH requests, got ${patches.length}`);
  const src = await openRegistrySource(dockerRef(`${reg.host}/p/chunked:1`), opts);
  const got = await pullImage(src);
  await src.close();
  assert.deepEqual(got.blobs.get(img.layers[1].digest), img.layers[1].bytes);
});

test('content not matching its descriptor is refused before anything is committed', async () => {
  const img = makeTestImage({ text: 'liar\n' });
  const dest = await openRegistryDestination(dockerRef(`${reg.host}/p/liar:1`), opts);
  const { Readable } = await import('node:stream');
  const l = img.layers[0];
  await assert.rejects(dest.putBlob({ mediaType: l.mediaType, digest: l.digest, size: l.size }, Readable.from([Buffer.from(l.bytes).fill(1, 0, 1)])), /does not match its descriptor/);
  assert.equal(await dest.hasBlob(l), false);
  await dest.close();
});

test('a warm copy reads nothing from its source; a source manifest that does not match its digest sends no blob', async () => {
  const img = makeTestImage({ text: 'read only what is sent\n' });
  const blobs = new Map([img.config, ...img.layers].map((b) => [b.digest, b.bytes]));
  class CountingSource extends MemorySource {
    reads = 0;
    override async getBlob(desc: Parameters<MemorySource['getBlob']>[0]) {
      this.reads++;
      return super.getBlob(desc);
    }
  }
  const copy = async (src: MemorySource, tag: string) => {
    const dest = await openRegistryDestination(dockerRef(`${proxy.host}/p/${tag}`), opts);
    try {
      return await copyImage(src, dest);
    } finally {
      await dest.close();
    }
  };
  const cold = new CountingSource('memory', img.manifest, blobs);
  await copy(cold, 'readless:1');
  assert.equal(cold.reads, 1 + img.layers.length, 'a cold copy reads the config and every layer');
  // Warm: the registry holds every blob and the tag names the manifest, so nothing is sent, and
  // neither the config nor any layer is read (nor hashed).
  const warm = new CountingSource('memory', img.manifest, blobs);
  proxy.requests.length = 0;
  await copy(warm, 'readless:1');
  assert.equal(warm.reads, 0);
  assert.equal(proxy.requests.filter((r) => r.method !== 'HEAD' && r.method !== 'GET').length, 0, 'a warm copy sends nothing');

  // A manifest whose bytes are not those of its digest, to a repository that lacks its blobs:
  // refused before any blob goes up.
  const other = makeTestImage({ text: 'damaged manifest\n' });
  const damaged = { ...other.manifest, bytes: Buffer.from(other.manifest.bytes.toString().replace('"schemaVersion":2', '"schemaVersion": 2')) };
  proxy.requests.length = 0;
  await assert.rejects(copy(new MemorySource('memory', damaged, new Map([other.config, ...other.layers].map((b) => [b.digest, b.bytes]))), 'damaged:1'), /digest/);
  assert.deepEqual(proxy.requests.filter((r) => r.method === 'POST' || r.method === 'PUT' || r.method === 'PATCH').map((r) => `${r.method} ${r.url}`), [], 'no upload started');
});

test('a source blob that does not match its digest is never committed by copyImage (one request or chunked)', async () => {
  // copyImage leaves the digest check of what it streams to a registry to the registry itself (its
  // closing PUT names the digest): the registry refuses, and the user hears which blob is damaged.
  for (const [mode, upload] of [['single', {}], ['chunked', { chunkSize: 64 * 1024 }], ['streamed', { singleRequestMax: 64 * 1024 }]] as const) {
    const img = makeTestImage({ text: `corrupt ${mode}\n`, extraLayerBytes: 200 * 1024 });
    const big = img.layers[1];
    const blobs = new Map([img.config, ...img.layers].map((b) => [b.digest, b.bytes]));
    const bad = Buffer.from(big.bytes);
    bad[bad.length - 100] ^= 0xff;
    blobs.set(big.digest, bad);
    const dest = await openRegistryDestination(dockerRef(`${reg.host}/p/corrupt-${mode}:1`), { ...opts, ...upload });
    await assert.rejects(copyImage(new MemorySource('memory', img.manifest, blobs), dest), new RegExp(`blob ${big.digest} does not match its digest \\(digest mismatch`));
    assert.equal(await dest.hasBlob(big), false, 'the corrupt layer is not in the registry');
    await dest.close();
  }
});

test('a blob bigger than singleRequestMax goes up in one streaming PATCH', async () => {
  const img = makeTestImage({ text: 'streamed\n', extraLayerBytes: 300 * 1024 });
  proxy.requests.length = 0;
  const dest = await openRegistryDestination(dockerRef(`${proxy.host}/p/streamed:1`), { ...opts, singleRequestMax: 64 * 1024 });
  await copyImage(new MemorySource('memory', img.manifest, new Map([img.config, ...img.layers].map((b) => [b.digest, b.bytes]))), dest);
  await dest.close();
  assert.equal(proxy.requests.filter((r) => r.method === 'PATCH').length, 1, 'one PATCH for the one big layer');
  const src = await openRegistrySource(dockerRef(`${reg.host}/p/streamed:1`), opts);
  const got = await pullImage(src);
  await src.close();
  assert.deepEqual(got.blobs.get(img.layers[1].digest), img.layers[1].bytes);
});

test('a streaming upload cut or refused half-way is sent again from a fresh read of the source', async () => {
  const img = makeTestImage({ text: 'streamed, faulty\n', extraLayerBytes: 300 * 1024 });
  proxy.requests.length = 0;
  proxy.faults.push({ kind: 'reset', times: 1, match: (r) => r.method === 'PATCH' });
  proxy.faults.push({ kind: 'status', status: 503, times: 1, match: (r) => r.method === 'PATCH' });
  const events: ProgressEvent[] = [];
  const dest = await openRegistryDestination(dockerRef(`${proxy.host}/p/streamed-faulty:1`), { ...opts, singleRequestMax: 64 * 1024, onProgress: (e) => events.push(e) });
  await copyImage(new MemorySource('memory', img.manifest, new Map([img.config, ...img.layers].map((b) => [b.digest, b.bytes]))), dest);
  await dest.close();
  assert.equal(proxy.requests.filter((r) => r.method === 'PATCH').length, 3, 'reset, 503, then through');
  assert.equal(events.filter((e) => e.type === 'retry').length, 2);
  const src = await openRegistrySource(dockerRef(`${reg.host}/p/streamed-faulty:1`), opts);
  const got = await pullImage(src);
  await src.close();
  assert.deepEqual(got.blobs.get(img.layers[1].digest), img.layers[1].bytes);
});

test('a streaming upload that cannot read its content again fails with one UserError', async () => {
  const img = makeTestImage({ text: 'streamed, once\n', extraLayerBytes: 300 * 1024 });
  proxy.faults.push({ kind: 'reset', times: 1, match: (r) => r.method === 'PATCH' });
  const dest = await openRegistryDestination(dockerRef(`${proxy.host}/p/streamed-once:1`), { ...opts, singleRequestMax: 64 * 1024 });
  const { Readable } = await import('node:stream');
  const l = img.layers[1];
  await assert.rejects(dest.putBlob({ mediaType: l.mediaType, digest: l.digest, size: l.size }, Readable.from([l.bytes])), (e: unknown) => isUserError(e) && /uploading blob/.test(e.message));
  assert.equal(await dest.hasBlob(l), false);
  await dest.close();
});

test('the store remembers where blobs live: a push in a later process mounts the base layers pulled earlier', async () => {
  // The usual CI sequence, each its own process: pull (or build FROM) registry/base, build on it,
  // push registry/app. The base layers are in the registry already, one repository over.
  const tmp = new TempDir();
  try {
    const base = makeTestImage({ text: 'base layer\n', extraLayerBytes: 64 * 1024 });
    const publisher = await openRegistryDestination(dockerRef(`${reg.host}/p/base:1`), opts);
    await pushImage(publisher, base);
    await publisher.close();
    const root = tmp.dir('store');
    // Async: the proxy is served by this process, which spawnSync would block.
    const ok = async (args: string[]) => {
      const r = await tsbuildAsync(args);
      assert.equal(r.status, 0, r.stderr);
    };
    await ok(['pull', '--root', root, '--tls-verify=false', `${proxy.host}/p/base:1`]);
    tmp.file('ctx/app.txt', 'app\n');
    tmp.file('ctx/Containerfile', `FROM ${proxy.host}/p/base:1\nCOPY app.txt /app.txt\n`);
    tsbuildOk(['build', '--root', root, '-t', 'app', tmp.dir('ctx')]);
    proxy.requests.length = 0;
    await ok(['push', '--root', root, '--tls-verify=false', 'app', `${proxy.host}/p/app:1`]);
    const posts = proxy.requests.filter((r) => r.method === 'POST' && r.url.includes('/blobs/uploads/'));
    const mounted = posts.filter((r) => r.url.includes('mount=') && r.url.includes('from=p%2Fbase') && r.status === 201);
    assert.equal(mounted.length, base.layers.length, 'each base layer mounted from p/base');
    assert.equal(posts.length - mounted.length, 2, 'only the new layer and the config uploaded');
    // An independent client sees the whole image.
    const layers = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/p/app:1`], { encoding: 'utf8' })).Layers as string[];
    assert.deepEqual(layers.slice(0, base.layers.length), base.layers.map((l) => l.digest));
    assert.equal(layers.length, base.layers.length + 1);
  } finally {
    tmp.cleanup();
  }
});
