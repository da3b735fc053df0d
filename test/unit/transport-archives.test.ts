import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { copyImage } from '../../registry/copy.js';
import { memoryImage, type MemorySource } from '../../registry/memory.js';
import { openDestination, openSource } from '../../registry/open.js';
import { writeArchive, type ArchiveMember } from '../../registry/archive-io.js';
import { storeDestination, storeSource, type StoreLike, type StoreImageRecord } from '../../registry/store-transport.js';
import { BlobStore } from '../../cache/blobs.js';
import { sha256 } from '../../oci/digest.js';
import { UserError } from '../../oci/errors.js';
import * as mt from '../../oci/mediatypes.js';
import type { ImageManifest } from '../../oci/types.js';

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const p = pack();
  for (const [name, body] of Object.entries(files)) p.entry({ name, mode: 0o644, mtime: new Date(0) }, body);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function image(text: string): Promise<MemorySource> {
  return memoryImage({ layers: [await tarOf({ 'a.txt': text }), await tarOf({ 'b.txt': text + '2' })], config: { architecture: 'amd64', os: 'linux' } });
}

async function tmp(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-archives-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function copy(src: MemorySource | string, dest: string, opts?: Parameters<typeof copyImage>[2]) {
  const s = typeof src === 'string' ? await openSource(src) : src;
  const d = await openDestination(dest);
  try {
    return await copyImage(s, d, opts);
  } finally {
    await d.close();
    await s.close();
  }
}

test('oci-archive round trip keeps the manifest digest', async (t) => {
  const dir = await tmp(t);
  const img = await image('x');
  await copy(img, `oci-archive:${dir}/a.tar:v1`);
  const r = await copy(`oci-archive:${dir}/a.tar:v1`, `oci:${dir}/l:v1`);
  assert.equal(r.manifestDigest, img.manifest.digest);
  await assert.rejects(openSource(`oci-archive:${dir}/a.tar:v2`).then((s) => s.getManifest()), /no image tagged "v2"/);
});

test('docker-archive round trip: layers stored uncompressed, names recorded, config intact', async (t) => {
  const dir = await tmp(t);
  const img = await image('y');
  const orig = JSON.parse(img.manifest.bytes.toString()) as ImageManifest;
  await copy(img, `docker-archive:${dir}/d.tar:busybox:1`);
  const src = await openSource(`docker-archive:${dir}/d.tar`);
  try {
    assert.deepEqual(src.names, ['docker.io/library/busybox:1']);
    const m = JSON.parse((await src.getManifest()).bytes.toString()) as ImageManifest;
    assert.equal(m.mediaType, mt.DOCKER_MANIFEST);
    assert.equal(m.config.digest, orig.config.digest);
    assert.ok(m.layers.every((l) => l.mediaType === mt.DOCKER_LAYER));
  } finally {
    await src.close();
  }
  // Reading by familiar or full name both work.
  assert.equal((await copy(`docker-archive:${dir}/d.tar:busybox:1`, `oci:${dir}/l:a`)).configDigest, orig.config.digest);
  assert.equal((await copy(`docker-archive:${dir}/d.tar:@0`, `oci:${dir}/l:b`)).configDigest, orig.config.digest);
  await assert.rejects(copy(`docker-archive:${dir}/d.tar:@3`, `oci:${dir}/l:c`), /no image @3/);
  await assert.rejects(openDestination(`docker-archive:${dir}/e.tar:@1`), UserError);
});

test('docker-archive reading accepts gzipped layer members and picks one of several images', async (t) => {
  const dir = await tmp(t);
  const layer = await tarOf({ 'c.txt': 'c' });
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
  const config2 = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const members: ArchiveMember[] = [
    { name: 'l1/layer.tar', data: gzipSync(layer) },
    { name: 'c1.json', data: config },
    { name: 'c2.json', data: config2 },
    { name: 'manifest.json', data: JSON.stringify([
      { Config: 'c2.json', RepoTags: ['other:1'], Layers: [] },
      { Config: 'c1.json', RepoTags: ['localhost/mine:2'], Layers: ['l1/layer.tar'] },
    ]) },
  ];
  await writeArchive(join(dir, 'g.tar'), members);
  await assert.rejects(openSource(`docker-archive:${dir}/g.tar`), /holds 2 images/);
  const r = await copy(`docker-archive:${dir}/g.tar:localhost/mine:2`, `oci:${dir}/l:m`, { format: 'oci' });
  assert.equal(r.configDigest, sha256(config));
  const back = await openSource(`oci:${dir}/l:m`);
  const m = JSON.parse((await back.getManifest()).bytes.toString()) as ImageManifest;
  assert.deepEqual(m.layers[0], { mediaType: mt.OCI_LAYER, digest: sha256(layer), size: layer.length });
});

test('docker-archive with a layer that does not match its diffID fails cleanly', async (t) => {
  const dir = await tmp(t);
  const layer = await tarOf({ 'c.txt': 'c' });
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256('not it')] } }));
  await writeArchive(join(dir, 'bad.tar'), [
    { name: 'l.tar', data: layer },
    { name: 'c.json', data: config },
    { name: 'manifest.json', data: JSON.stringify([{ Config: 'c.json', RepoTags: null, Layers: ['l.tar'] }]) },
  ]);
  await assert.rejects(copy(`docker-archive:${dir}/bad.tar`, `oci:${dir}/l:x`), (e: unknown) => e instanceof UserError && /digest mismatch/.test(e.message));
  await assert.rejects(readFile(join(dir, 'l/index.json')), /ENOENT/);
});

test('store bridging: pull into a store, push back out with the same digest', async (t) => {
  const dir = await tmp(t);
  const records: StoreImageRecord[] = [];
  const blobs = new BlobStore(join(dir, 'blobs'), join(dir, 'tmp'));
  const store: StoreLike = {
    blobs,
    images: {
      async add(m, names) {
        const { digest } = await blobs.putBytes(m.bytes);
        const manifest = JSON.parse(m.bytes.toString()) as ImageManifest;
        const rec = { id: manifest.config.digest.slice(7), manifestDigest: digest, manifestMediaType: m.mediaType, names };
        records.push(rec);
        return rec;
      },
    },
  };
  const img = await image('z');
  const dest = storeDestination(store, ['localhost/z:1']);
  await copyImage(img, dest);
  const rec = dest.record();
  assert.equal(rec.manifestDigest, img.manifest.digest);
  assert.deepEqual(rec.names, ['localhost/z:1']);
  // Pulling again skips every blob.
  const events: string[] = [];
  await copyImage(img, storeDestination(store, ['localhost/z:1']), { onProgress: (ev) => ev.kind === 'blob' && events.push(ev.phase) });
  assert.deepEqual(events, ['skipped', 'skipped', 'skipped']);
  const r = await copy('x', 'y').catch((e: unknown) => e);
  assert.ok(r instanceof UserError);
  const out = storeSource(store, rec);
  const d = await openDestination(`oci:${dir}/pushed:z`);
  const pushed = await copyImage(out, d);
  assert.equal(pushed.manifestDigest, img.manifest.digest);
});
