// Cross-checks against the reference tools: what we write must satisfy skopeo, oci-image-tool,
// umoci and podman; what skopeo writes we must read.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pack } from 'tar-stream';
import { copyImage } from '../../registry/copy.js';
import { memoryImage, type MemorySource } from '../../registry/memory.js';
import { openDestination, openSource } from '../../registry/open.js';
import { hostPlatform } from '../../registry/platform.js';
import { UserError } from '../../oci/errors.js';
import * as mt from '../../oci/mediatypes.js';
import type { ImageManifest } from '../../oci/types.js';
import type { ImageDestination, ImageSource } from '../../registry/transport.js';

const run = promisify(execFile);
let work: string;
let img: MemorySource;

async function busyboxLayer(): Promise<Buffer> {
  const p = pack();
  const mtime = new Date(0);
  const bb = await readFile('/usr/bin/busybox');
  p.entry({ name: 'bin/', type: 'directory', mode: 0o755, mtime });
  p.entry({ name: 'bin/busybox', mode: 0o755, mtime }, bb);
  p.entry({ name: 'bin/sh', type: 'symlink', linkname: 'busybox', mode: 0o777, mtime });
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function copy(src: ImageSource | string, dest: ImageDestination | string, opts?: Parameters<typeof copyImage>[2]) {
  const s = typeof src === 'string' ? await openSource(src) : src;
  const d = typeof dest === 'string' ? await openDestination(dest) : dest;
  try {
    return await copyImage(s, d, opts);
  } finally {
    await d.close();
    await s.close();
  }
}

async function skopeoInspect(ref: string): Promise<{ Digest: string; Layers: string[] }> {
  const { stdout } = await run('skopeo', ['inspect', ref]);
  return JSON.parse(stdout);
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'tsbuild-transport-it-'));
  const p = hostPlatform();
  img = memoryImage({
    layers: [await busyboxLayer()],
    config: {
      architecture: p.architecture,
      os: 'linux',
      created: '2024-01-01T00:00:00Z',
      config: { Cmd: ['/bin/sh'], Env: ['PATH=/bin'] },
      history: [{ created: '2024-01-01T00:00:00Z', created_by: 'tsbuild test' }],
    },
    reference: 'memory:busybox',
  });
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('oci: layout passes skopeo, oci-image-tool and umoci', async () => {
  const dir = join(work, 'layout');
  const res = await copy(img, `oci:${dir}:v1`);
  assert.equal(res.manifestDigest, img.manifest.digest);
  const info = await skopeoInspect(`oci:${dir}:v1`);
  assert.equal(info.Digest, img.manifest.digest);
  // oci-image-tool 1.0.0-rc1 calls the layout type "image" (its "imageLayout" is unimplemented).
  await run('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=v1', dir]);
  await run('umoci', ['unpack', '--rootless', '--image', `${dir}:v1`, join(work, 'bundle')]);
  assert.ok((await stat(join(work, 'bundle/rootfs/bin/busybox'))).isFile());
});

test('docker-archive: skopeo inspects it, podman loads and runs it', async () => {
  const file = join(work, 'img-docker.tar');
  await copy(img, `docker-archive:${file}:localhost/tsbuild-test:v1`);
  const info = await skopeoInspect(`docker-archive:${file}`);
  assert.equal(info.Layers.length, 1);

  const root = join(work, 'podman');
  const podman = (...args: string[]) =>
    run('podman', ['--root', join(root, 'root'), '--runroot', join(root, 'runroot'), '--runtime', 'runc', '--cgroup-manager', 'cgroupfs', '--storage-driver', 'vfs', '--events-backend', 'none', ...args], { timeout: 120_000 });
  try {
    await podman('load', '-i', file);
    // `--ulimit host` makes runc raise RLIMIT_NOFILE/NPROC, which this sandbox forbids; lower limits always work.
    const { stdout } = await podman('run', '--rm', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', '--network', 'none', 'localhost/tsbuild-test:v1', '/bin/busybox', 'echo', 'hi');
    assert.equal(stdout.trim(), 'hi');
  } finally {
    await podman('system', 'reset', '--force').catch(() => {});
    await rm(root, { recursive: true, force: true });
  }
});

test('oci-archive: skopeo reads what we write; docker format via --format', async () => {
  const file = join(work, 'img-oci.tar');
  await copy(img, `oci-archive:${file}:v2`);
  assert.equal((await skopeoInspect(`oci-archive:${file}:v2`)).Digest, img.manifest.digest);
  const dfile = join(work, 'img-oci-docker.tar');
  await copy(img, `oci-archive:${dfile}`, { format: 'docker' });
  const { stdout } = await run('skopeo', ['inspect', '--raw', `oci-archive:${dfile}`]);
  assert.equal((JSON.parse(stdout) as ImageManifest).mediaType, mt.DOCKER_MANIFEST);
});

test('we read archives skopeo wrote and get the same image back', async () => {
  const dir = join(work, 'layout');
  const darc = join(work, 'skopeo-docker.tar');
  const oarc = join(work, 'skopeo-oci.tar');
  await run('skopeo', ['copy', '-q', `oci:${dir}:v1`, `docker-archive:${darc}:example.com/x/y:z`]);
  await run('skopeo', ['copy', '-q', `oci:${dir}:v1`, `oci-archive:${oarc}:t`]);
  const orig = JSON.parse(img.manifest.bytes.toString()) as ImageManifest;

  const back = join(work, 'back');
  // umoci only reads OCI manifests: this also exercises Docker → OCI conversion.
  const r1 = await copy(`docker-archive:${darc}`, `oci:${back}:from-docker`, { format: 'oci' });
  assert.equal(r1.configDigest, orig.config.digest);
  const r1b = await copy(`docker-archive:${darc}:example.com/x/y:z`, `oci:${back}:by-name`, { format: 'oci' });
  assert.equal(r1b.manifestDigest, r1.manifestDigest);
  await assert.rejects(copy(`docker-archive:${darc}:other:tag`, `oci:${back}:no`), /no image named docker.io\/library\/other:tag/);
  const r2 = await copy(`oci-archive:${oarc}:t`, `oci:${back}:from-oci`);
  assert.equal(r2.manifestDigest, img.manifest.digest);
  await run('umoci', ['unpack', '--rootless', '--image', `${back}:from-docker`, join(work, 'bundle2')]);
  assert.ok((await stat(join(work, 'bundle2/rootfs/bin/busybox'))).isFile());
  // A docker-archive written by us reads back too (uncompressed layers, digest = diffID).
  const ours = join(work, 'img-docker.tar');
  assert.equal((await copy(`docker-archive:${ours}`, `oci:${back}:ours`)).configDigest, orig.config.digest);
});

test('a corrupted blob is a one-line UserError and the destination is untouched', async () => {
  const dir = join(work, 'corrupt');
  await copy(img, `oci:${dir}:v1`);
  const orig = JSON.parse(img.manifest.bytes.toString()) as ImageManifest;
  const p = join(dir, 'blobs/sha256', orig.layers[0]!.digest.slice(7));
  const b = await readFile(p);
  b[100] ^= 1;
  await writeFile(p, b);
  const out = join(work, 'corrupt-out.tar');
  await assert.rejects(copy(`oci:${dir}:v1`, `docker-archive:${out}:a/b:c`), (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    assert.ok(!e.message.includes('\n'));
    assert.match(e.message, /^oci:.*corrupt:v1: digest mismatch for blob sha256:/);
    return true;
  });
  await assert.rejects(stat(out), /ENOENT/);
  assert.deepEqual((await readdir(work)).filter((f) => f.startsWith('.tmp-')), []);
  await assert.rejects(openSource(`oci-archive:${join(work, 'missing.tar')}`), (e: unknown) => e instanceof UserError && /no such file/.test(e.message));
  await writeFile(join(work, 'garbage.tar'), Buffer.alloc(1024, 7));
  await assert.rejects(openSource(`docker-archive:${join(work, 'garbage.tar')}`), (e: unknown) => e instanceof UserError && /corrupt archive|not a docker-archive/.test(e.message));
});
