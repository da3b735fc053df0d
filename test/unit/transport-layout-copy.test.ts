import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile, rm, readdir } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { copyImage } from '../../registry/copy.js';
import { memoryImage } from '../../registry/memory.js';
import { OciLayoutDestination, OciLayoutSource, REF_NAME } from '../../registry/oci-layout.js';
import { UserError } from '../../oci/errors.js';
import { sha256 } from '../../oci/digest.js';
import * as mt from '../../oci/mediatypes.js';
import type { ImageIndex, ImageManifest } from '../../oci/types.js';

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const p = pack();
  for (const [name, body] of Object.entries(files)) p.entry({ name, mode: 0o644, mtime: new Date(0) }, body);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function image(text: string, format: 'oci' | 'docker' = 'oci') {
  return memoryImage({ layers: [await tarOf({ 'hello.txt': text })], config: { architecture: 'amd64', os: 'linux', config: { Cmd: ['/hello'] } }, format });
}

async function tmp(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-transport-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('copy into an OCI layout and back keeps the manifest digest', async (t) => {
  const dir = await tmp(t);
  const src = await image('one');
  const res = await copyImage(src, new OciLayoutDestination(dir, 'v1', `oci:${dir}:v1`));
  assert.equal(res.manifestDigest, src.manifest.digest);
  assert.deepEqual(JSON.parse(await readFile(join(dir, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ImageIndex;
  assert.equal(index.manifests.length, 1);
  assert.equal(index.manifests[0]!.annotations![REF_NAME], 'v1');

  const back = new OciLayoutSource(dir, 'v1', `oci:${dir}:v1`);
  const m = await back.getManifest();
  assert.equal(m.digest, src.manifest.digest);
  assert.deepEqual(m.bytes, src.manifest.bytes);
  // Untagged read works with exactly one image.
  assert.equal((await new OciLayoutSource(dir, undefined, 'x').getManifest()).digest, m.digest);
  await assert.rejects(new OciLayoutSource(dir, 'nope', `oci:${dir}:nope`).getManifest(), /no image tagged "nope"/);
});

test('a new image with the same tag replaces the entry; other tags are kept', async (t) => {
  const dir = await tmp(t);
  await copyImage(await image('a'), new OciLayoutDestination(dir, 'a', 'a'));
  await copyImage(await image('b'), new OciLayoutDestination(dir, 'b', 'b'));
  const b2 = await image('b2');
  await copyImage(b2, new OciLayoutDestination(dir, 'b', 'b'));
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ImageIndex;
  assert.deepEqual(index.manifests.map((d) => d.annotations![REF_NAME]), ['a', 'b']);
  assert.equal(index.manifests[1]!.digest, b2.manifest.digest);
  await assert.rejects(new OciLayoutSource(dir, undefined, 'oci:x').getManifest(), /holds 2 images/);
});

test('an index entry that is an index resolves to the host platform', async (t) => {
  const dir = await tmp(t);
  const src = await image('multi');
  await copyImage(src, new OciLayoutDestination(dir, undefined, 'x'));
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ImageIndex;
  const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  const inner = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: mt.OCI_INDEX,
    manifests: [
      { ...index.manifests[0], digest: 'sha256:' + '0'.repeat(64), platform: { os: 'linux', architecture: 's390x' } },
      { ...index.manifests[0], platform: { os: 'linux', architecture: arch } },
    ],
  }));
  await writeFile(join(dir, 'blobs/sha256', sha256(inner).slice(7)), inner);
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: mt.OCI_INDEX, digest: sha256(inner), size: inner.length, annotations: { [REF_NAME]: 'multi' } }] }));
  const m = await new OciLayoutSource(dir, 'multi', 'x').getManifest();
  assert.equal(m.digest, src.manifest.digest);
  await assert.rejects(new OciLayoutSource(dir, 'multi', 'oci:x').getManifest({ os: 'linux', architecture: 'mips' }), /no image for platform linux\/mips/);
});

test('a corrupted blob is a UserError and nothing is tagged', async (t) => {
  const src = await image('good');
  const dir = await tmp(t);
  await copyImage(src, new OciLayoutDestination(dir, 'ok', 'ok'));
  const manifest = JSON.parse(src.manifest.bytes.toString()) as ImageManifest;
  const layerPath = join(dir, 'blobs/sha256', manifest.layers[0]!.digest.slice(7));
  const blob = await readFile(layerPath);
  blob[blob.length - 5] ^= 0xff;
  await writeFile(layerPath, blob);
  const out = await tmp(t);
  await assert.rejects(copyImage(new OciLayoutSource(dir, 'ok', `oci:${dir}:ok`), new OciLayoutDestination(out, 'x', `oci:${out}:x`)), (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    assert.match(e.message, new RegExp(`oci:${dir}:ok: digest mismatch for blob ${manifest.layers[0]!.digest}`));
    return true;
  });
  await assert.rejects(readFile(join(out, 'index.json')), /ENOENT/);
  // No blob named after the corrupt layer, and no temp files left behind.
  assert.deepEqual((await readdir(join(out, 'blobs/sha256'))).filter((f) => f !== manifest.config.digest.slice(7)), []);
});

test('format conversion and decompression for destinations that want it', async (t) => {
  const src = await image('conv');
  const dir = await tmp(t);
  const res = await copyImage(src, new OciLayoutDestination(dir, 'd', 'd'), { format: 'docker' });
  const m = JSON.parse((await new OciLayoutSource(dir, 'd', 'd').getManifest()).bytes.toString()) as ImageManifest;
  assert.equal(m.mediaType, mt.DOCKER_MANIFEST);
  assert.equal(m.layers[0]!.mediaType, mt.DOCKER_LAYER_GZIP);
  assert.notEqual(res.manifestDigest, src.manifest.digest);

  // A destination that wants uncompressed layers gets the diffID as digest and the real size.
  const dest = new OciLayoutDestination(await tmp(t), 'u', 'u');
  Object.defineProperty(dest, 'wantsUncompressedLayers', { value: true });
  await copyImage(src, dest);
  const um = JSON.parse((await new OciLayoutSource(dest.dir, 'u', 'u').getManifest()).bytes.toString()) as ImageManifest;
  const orig = JSON.parse(src.manifest.bytes.toString()) as ImageManifest;
  const tar = gunzipSync(src.blobs.get(orig.layers[0]!.digest)!);
  assert.deepEqual(um.layers[0], { mediaType: mt.OCI_LAYER, digest: sha256(tar), size: tar.length });
});

test('a Docker schema 2 image copied into an OCI layout is converted to OCI; the blobs are untouched', async (t) => {
  // skopeo, buildah and podman find a tag in index.json among OCI manifests only, so a Docker
  // manifest there is an image nobody else can read. Forcing --format docker still writes one.
  const src = await image('docker', 'docker');
  const orig = JSON.parse(src.manifest.bytes.toString()) as ImageManifest;
  const dir = await tmp(t);
  const res = await copyImage(src, new OciLayoutDestination(dir, 'd', 'd'));
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ImageIndex;
  assert.deepEqual(index.manifests.map((d) => [d.mediaType, d.digest]), [[mt.OCI_MANIFEST, res.manifestDigest]]);
  const m = JSON.parse(await readFile(join(dir, 'blobs/sha256', res.manifestDigest.slice(7)), 'utf8')) as ImageManifest;
  assert.equal(sha256(await readFile(join(dir, 'blobs/sha256', res.manifestDigest.slice(7)))), res.manifestDigest, 'the digest returned is the one written');
  assert.equal(m.mediaType, mt.OCI_MANIFEST);
  assert.deepEqual(m.config, { ...orig.config, mediaType: mt.OCI_CONFIG });
  assert.deepEqual(m.layers, orig.layers.map((l) => ({ ...l, mediaType: mt.OCI_LAYER_GZIP })));

  const forced = await tmp(t);
  const r2 = await copyImage(src, new OciLayoutDestination(forced, 'd', 'd'), { format: 'docker' });
  assert.equal(r2.manifestDigest, src.manifest.digest, '--format docker keeps the Docker manifest as it is');
});

test('a layout destination removes temp files of killed writers, not of live ones', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-layout-temps-'));
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const deadPid = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  await writeFile(join(blobs, `.tmp-${deadPid}-abc-123456`), 'half a blob');
  await writeFile(join(blobs, `.tmp-${process.pid}-def-123456`), 'being written');
  const data = Buffer.from('blob');
  const digest = sha256(data);
  const dest = new OciLayoutDestination(dir, 'x', `oci:${dir}:x`);
  await dest.putBlob({ mediaType: 'application/octet-stream', digest, size: data.length }, Readable.from([data]));
  assert.deepEqual((await readdir(blobs)).sort(), [`.tmp-${process.pid}-def-123456`, digest.slice(7)].sort());
  await rm(dir, { recursive: true, force: true });
});
