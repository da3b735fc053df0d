import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { BlobStore } from '../../cache/blobs.js';
import { writeLayer, type LayerEntry } from '../../cache/layers.js';
import { DOCKER_LAYER_GZIP, OCI_LAYER, OCI_LAYER_GZIP } from '../../oci/mediatypes.js';

const LONG = 'deep/' + 'a'.repeat(60) + '/' + 'b'.repeat(60) + '/file-with-a-long-name.txt';

function sampleEntries(hostFile: string): LayerEntry[] {
  return [
    { path: 'usr', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1_600_000_000 },
    { path: 'usr/bin', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1_600_000_000 },
    { path: 'usr/bin/tool', type: 'file', mode: 0o4755, uid: 0, gid: 0, mtime: 1_600_000_000.75, content: { data: Buffer.from('#!/bin/sh\necho hi\n') } },
    { path: 'usr/bin/tool-link', type: 'hardlink', mode: 0o4755, uid: 0, gid: 0, mtime: 1_600_000_000, linkname: 'usr/bin/tool' },
    { path: 'usr/bin/sh', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 1_600_000_000, linkname: '/bin/busybox' },
    { path: 'home', type: 'dir', mode: 0o1777, uid: 0, gid: 0, mtime: 1_600_000_000 },
    { path: 'home/user.txt', type: 'file', mode: 0o640, uid: 1000, gid: 3000000, mtime: 2_000_000_000, content: { path: hostFile }, size: 5 },
    { path: 'deep', type: 'dir', mode: 0o700, uid: 12, gid: 34, mtime: 1_600_000_000 },
    { path: 'deep/' + 'a'.repeat(60), type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1_600_000_000 },
    { path: 'deep/' + 'a'.repeat(60) + '/' + 'b'.repeat(60), type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1_600_000_000 },
    { path: LONG, type: 'file', mode: 0o600, uid: 0, gid: 0, mtime: 1_600_000_000, content: { data: Buffer.from('long\n') } },
    { path: 'etc/cap', type: 'file', mode: 0o755, uid: 0, gid: 0, mtime: 1_600_000_000, content: { data: Buffer.from('x') }, xattrs: { 'user.bin': Buffer.from([0, 1, 0xff, 10, 61]), 'user.comment': Buffer.from('hello') } },
    { path: 'etc', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1_600_000_000 },
  ];
}

describe('writeLayer', () => {
  let root: string;
  let blobs: BlobStore;
  let hostFile: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-lw-'));
    blobs = new BlobStore(join(root, 'blobs'), join(root, 'tmp'));
    hostFile = join(root, 'host.txt');
    await writeFile(hostFile, 'user\n');
  });
  after(() => rm(root, { recursive: true, force: true }));

  async function tarOf(digest: string, compressed = true): Promise<string> {
    const bytes = await blobs.readBytes(digest);
    const tarPath = join(root, digest.slice(7) + '.tar');
    await writeFile(tarPath, compressed ? gunzipSync(bytes) : bytes);
    return tarPath;
  }

  it('is deterministic: same entries in any order give the same diffID and digest', async () => {
    const a = await writeLayer(sampleEntries(hostFile), blobs);
    await new Promise((r) => setTimeout(r, 1100)); // wall-clock time must not leak in
    const shuffled = sampleEntries(hostFile).reverse();
    const b = await writeLayer((async function* () { yield* shuffled; })(), blobs);
    assert.deepEqual(a, b);
    assert.equal(a.mediaType, OCI_LAYER_GZIP);
    // diffID is the sha256 of the uncompressed tar, digest of the blob.
    const raw = gunzipSync(await blobs.readBytes(a.digest));
    assert.equal(a.diffID, 'sha256:' + createHash('sha256').update(raw).digest('hex'));
    assert.equal(a.size, await blobs.size(a.digest));
  });

  it('GNU tar lists the right modes, owners, links and long names', async () => {
    const l = await writeLayer(sampleEntries(hostFile), blobs);
    const out = execFileSync('tar', ['--numeric-owner', '-tvf', await tarOf(l.digest)], { encoding: 'utf8' });
    const lines = out.trim().split('\n');
    const names = lines.map((s) => s.replace(/^.*?\d\d:\d\d /, ''));
    // Sorted by path.
    assert.deepEqual(names, [
      'deep/', 'deep/' + 'a'.repeat(60) + '/', 'deep/' + 'a'.repeat(60) + '/' + 'b'.repeat(60) + '/', LONG,
      'etc/', 'etc/cap', 'home/', 'home/user.txt', 'usr/', 'usr/bin/', 'usr/bin/sh -> /bin/busybox',
      'usr/bin/tool', 'usr/bin/tool-link link to usr/bin/tool',
    ]);
    const line = (n: string) => lines.find((s) => s.endsWith(' ' + n))!;
    assert.match(line('usr/bin/tool'), /^-rwsr-xr-x 0\/0 +18 /);
    assert.match(line('home/'), /^drwxrwxrwt 0\/0 /);
    assert.match(line('home/user.txt'), /^-rw-r----- 1000\/3000000 +5 /);
    assert.match(line('deep/'), /^drwx------ 12\/34 /);
    assert.match(line('usr/bin/sh -> /bin/busybox'), /^lrwxrwxrwx /);
    assert.match(line('usr/bin/tool-link link to usr/bin/tool'), /^hrwsr-xr-x /);
  });

  it('GNU tar extracts it faithfully (contents, hardlinks, symlinks, xattrs, clamped mtime)', async () => {
    const l = await writeLayer(sampleEntries(hostFile), blobs, { clampMtime: 1_700_000_000 });
    const dest = join(root, 'x-' + l.diffID.slice(7, 15));
    await mkdir(dest);
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', await tarOf(l.digest), '-C', dest]);
    assert.equal(await readFile(join(dest, 'usr/bin/tool'), 'utf8'), '#!/bin/sh\necho hi\n');
    assert.equal(await readFile(join(dest, LONG), 'utf8'), 'long\n');
    assert.equal(await readFile(join(dest, 'home/user.txt'), 'utf8'), 'user\n');
    assert.equal(await readlink(join(dest, 'usr/bin/sh')), '/bin/busybox');
    const t = await stat(join(dest, 'usr/bin/tool'));
    const h = await stat(join(dest, 'usr/bin/tool-link'));
    assert.equal(t.ino, h.ino);
    assert.equal(t.mode & 0o7777, 0o4755);
    // 2_000_000_000 was clamped to 1_700_000_000; fractional seconds are dropped.
    assert.equal((await lstat(join(dest, 'home/user.txt'))).mtimeMs, 1_700_000_000_000);
    assert.equal(t.mtimeMs, 1_600_000_000_000);
    const u = await stat(join(dest, 'home/user.txt'));
    if (process.getuid?.() === 0) assert.deepEqual([u.uid, u.gid], [1000, 3000000]);
    // Binary xattr values survive the PAX round trip byte for byte (read back with python: no getfattr here).
    const attr = execFileSync('python3', ['-c', 'import os,sys; print(os.getxattr(sys.argv[1], sys.argv[2]).hex())', join(dest, 'etc/cap'), 'user.bin'], { encoding: 'utf8' });
    assert.equal(attr.trim(), '0001ff0a3d');
  });

  it('writes uncompressed and docker media types and honours the compression choice', async () => {
    const none = await writeLayer(sampleEntries(hostFile), blobs, { compression: 'none' });
    assert.equal(none.mediaType, OCI_LAYER);
    assert.equal(none.diffID, none.digest);
    const gz = await writeLayer(sampleEntries(hostFile), blobs, { format: 'docker' });
    assert.equal(gz.mediaType, DOCKER_LAYER_GZIP);
    assert.equal(gz.diffID, none.diffID);
    const best = await writeLayer(sampleEntries(hostFile), blobs, { level: 9 });
    assert.equal(best.diffID, none.diffID);
  });

  it('fails (and stores nothing) when a host file does not have the promised size', async () => {
    const bad: LayerEntry[] = [{ path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 100, content: { path: hostFile } }];
    await assert.rejects(writeLayer(bad, blobs), /expected 100 bytes/);
  });
});
