// The real local store (cache/store.ts) behind storeSource/storeDestination: pull from oci:, push to
// docker-archive:, and check the result with skopeo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pack } from 'tar-stream';
import { openStore } from '../../cache/store.js';
import type { ImageRecord } from '../../cache/images.js';
import { copyImage } from '../../registry/copy.js';
import { memoryImage } from '../../registry/memory.js';
import { openDestination, openSource } from '../../registry/open.js';
import { storeDestination, storeSource, type StoreLike } from '../../registry/store-transport.js';

const run = promisify(execFile);

test('pull into the real store and push back out', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'tsbuild-transport-store-'));
  t.after(() => rm(work, { recursive: true, force: true }));
  const store = await openStore(join(work, 'store'));
  const typed: StoreLike<ImageRecord> = store; // the bridge's narrow view must fit the real store

  const p = pack();
  p.entry({ name: 'hello', mode: 0o644, mtime: new Date(0) }, 'hi');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  const img = memoryImage({ layers: [Buffer.concat(chunks)], config: { architecture: 'amd64', os: 'linux', config: { Cmd: ['/hello'] } } });
  const layout = join(work, 'layout');
  const d0 = await openDestination(`oci:${layout}:v1`);
  await copyImage(img, d0);

  const src = await openSource(`oci:${layout}:v1`, { tmpDir: store.tmp });
  const dest = storeDestination(typed, ['localhost/hello:v1']);
  await copyImage(src, dest);
  const rec = dest.record();
  assert.equal(rec.manifestDigest, img.manifest.digest);
  assert.deepEqual((await store.images.resolve('localhost/hello:v1'))?.id, rec.id);

  const file = join(work, 'out.tar');
  const out = await openDestination(`docker-archive:${file}:localhost/hello:v1`, { tmpDir: store.tmp });
  try {
    await copyImage(storeSource(store, rec), out);
  } finally {
    await out.close();
  }
  const { stdout } = await run('skopeo', ['inspect', `docker-archive:${file}`]);
  assert.equal(JSON.parse(stdout).Layers.length, 1);
  // skopeo inspect does not show RepoTags for archives; read manifest.json itself.
  const list = JSON.parse((await run('tar', ['-xOf', file, 'manifest.json'])).stdout);
  assert.deepEqual(list[0].RepoTags, ['localhost/hello:v1']);
  assert.deepEqual(await readdir(store.tmp), [], 'archive staging dirs are removed on close');
});

test('a stored manifest or config that no longer matches its digest fails the push, and nothing is tagged', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'tsbuild-transport-store-'));
  t.after(() => rm(work, { recursive: true, force: true }));
  const img = memoryImage({ layers: [], config: { architecture: 'amd64', os: 'linux', config: { Cmd: ['/x'] } } });
  const manifest = JSON.parse(img.manifest.bytes.toString()) as { config: { digest: string } };
  for (const damaged of ['manifest', 'config'] as const) {
    const store = await openStore(join(work, `store-${damaged}`));
    const dest = storeDestination(store, [`localhost/${damaged}:v1`]);
    await copyImage(img, dest);
    const digest = damaged === 'manifest' ? img.manifest.digest : manifest.config.digest;
    // Still valid JSON, so only the digest can tell: the push verifies what the store handed over.
    const file = join(store.root, 'blobs', 'sha256', digest.slice('sha256:'.length));
    await writeFile(file, (await readFile(file, 'utf8')) + ' ');
    const layout = join(work, `out-${damaged}`);
    const out = await openDestination(`oci:${layout}:v1`);
    await assert.rejects(copyImage(storeSource(store, dest.record()), out), new RegExp(`digest mismatch for blob ${digest}`));
    await assert.rejects(readFile(join(layout, 'index.json')), /ENOENT/, `no image is tagged when the ${damaged} is damaged`);
  }
});
