import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, link, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { BlobStore } from '../../cache/blobs.js';
import { scanDir, writeLayer } from '../../cache/layers.js';
import { loadNative } from '../../cache/native.js';

describe('scanDir', () => {
  let root: string;
  let blobs: BlobStore;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-scan-'));
    blobs = new BlobStore(join(root, 'blobs'), join(root, 'tmp'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('walks a tree into sorted entries with hardlinks, symlinks and modes, and writeLayer archives it', async () => {
    const src = join(root, 'tree');
    await mkdir(join(src, 'b/sub'), { recursive: true });
    await writeFile(join(src, 'b/z-first'), 'data');
    await link(join(src, 'b/z-first'), join(src, 'a-second'));
    await symlink('../a-second', join(src, 'b/sub/ln'));
    await chmod(join(src, 'b/z-first'), 0o4711);
    await utimes(join(src, 'b'), 1_234_567_890, 1_234_567_890);
    const entries = await scanDir(src, { overrides: new Map([['b/sub', { uid: 1000, gid: 1000, mode: 0o700 }]]) });
    assert.deepEqual(entries.map((e) => [e.path, e.type]), [
      ['a-second', 'file'], ['b', 'dir'], ['b/sub', 'dir'], ['b/sub/ln', 'symlink'], ['b/z-first', 'hardlink'],
    ]);
    const hl = entries.find((e) => e.path === 'b/z-first')!;
    assert.equal(hl.linkname, 'a-second'); // the first path in layer order carries the data
    assert.equal(entries[0]!.mode, 0o4711);
    assert.equal(entries[1]!.mtime, 1_234_567_890);
    assert.deepEqual([entries[2]!.uid, entries[2]!.gid, entries[2]!.mode], [1000, 1000, 0o700]);
    assert.equal(entries[3]!.linkname, '../a-second');

    const l = await writeLayer(entries, blobs);
    const tarPath = join(root, 'scan.tar');
    await writeFile(tarPath, gunzipSync(await blobs.readBytes(l.digest)));
    const out = execFileSync('tar', ['--numeric-owner', '-tvf', tarPath], { encoding: 'utf8' });
    assert.match(out, /^-rws--x--x 0\/0 +4 .* a-second$/m);
    assert.match(out, /^drwx------ 1000\/1000 .* b\/sub\/$/m);
    assert.match(out, /^h.* b\/z-first link to a-second$/m);
    // Scanning again gives the same layer.
    assert.deepEqual(await writeLayer(await scanDir(src, { overrides: new Map([['b/sub', { uid: 1000, gid: 1000, mode: 0o700 }]]) }), blobs), l);
  });

  it('turns overlay whiteout devices and opaque dirs into .wh. entries', async (t) => {
    const native = await loadNative();
    if (!native || process.getuid?.() !== 0) return t.skip('needs the native addon and root to create whiteout devices');
    const up = join(root, 'upper');
    await mkdir(join(up, 'etc/opq'), { recursive: true });
    native.mknod(join(up, 'etc/removed'), 0o020000, 0, 0);
    native.lsetxattr(join(up, 'etc/opq'), 'trusted.overlay.opaque', Buffer.from('y'));
    await writeFile(join(up, 'etc/opq/new'), 'n');
    native.lsetxattr(join(up, 'etc/opq/new'), 'user.keep', Buffer.from('v'));
    const entries = await scanDir(up, { overlay: true });
    assert.deepEqual(entries.map((e) => [e.path, e.type, e.size]), [
      ['etc', 'dir', undefined], ['etc/.wh.removed', 'file', 0], ['etc/opq', 'dir', undefined],
      ['etc/opq/.wh..wh..opq', 'file', 0], ['etc/opq/new', 'file', 1],
    ]);
    assert.equal(entries[2]!.xattrs, undefined); // overlay's own xattr is not image content
    assert.deepEqual(entries[4]!.xattrs, { 'user.keep': Buffer.from('v') });
  });
});
