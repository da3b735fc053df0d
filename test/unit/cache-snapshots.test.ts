import assert from 'node:assert/strict';
import { mkdtemp, readdir, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeLayer, type LayerEntry } from '../../cache/layers.js';
import { loadNative } from '../../cache/native.js';
import { RootfsView } from '../../cache/rootfs-view.js';
import { openStore, type Store } from '../../cache/store.js';
import { chainIds, digestHex } from '../../oci/digest.js';
import { UserError } from '../../oci/errors.js';

const meta = { mode: 0o755, uid: 0, gid: 0, mtime: 1_000 };
const d = (path: string): LayerEntry => ({ path, type: 'dir', ...meta });
const f = (path: string, text: string): LayerEntry => ({ path, type: 'file', ...meta, mode: 0o644, content: { data: Buffer.from(text) } });
const s = (path: string, linkname: string): LayerEntry => ({ path, type: 'symlink', ...meta, mode: 0o777, linkname });

describe('snapshots and the merged rootfs view', () => {
  let base: string;
  let store: Store;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'tsbuild-snap-'));
    store = await openStore(base);
  });
  after(() => rm(base, { recursive: true, force: true }));

  it('unpacks a chain in overlay format and merges it like overlayfs would', async (t) => {
    if (!(await loadNative()) || process.getuid?.() !== 0) {
      return t.skip('overlay-format snapshots need the native addon (mknod, xattrs) and root in this test');
    }
    const layers = [
      await writeLayer([d('etc'), f('etc/a', '1'), f('etc/b', '1'), d('etc/dir'), f('etc/dir/x', 'x'), s('bin', 'usr/bin'), d('usr'), d('usr/bin'), f('usr/bin/sh', 'sh'), d('lib'), f('lib/f', 'f')], store.blobs),
      await writeLayer([d('etc'), f('etc/.wh.a', ''), f('etc/b', '2'), d('etc/dir'), f('etc/dir/.wh..wh..opq', ''), f('etc/dir/y', 'y'), s('abs', '/etc/b'), s('esc', '../../../../etc/b'), f('lib', 'now a file')], store.blobs),
      await writeLayer([d('etc'), f('etc/c', 'c')], store.blobs),
    ];
    const dirs = await store.snapshots.ensure(layers);
    const chain = chainIds(layers.map((l) => l.diffID)).map(digestHex);
    assert.deepEqual(dirs, chain.map((h) => join(base, 'snapshots', h, 'fs')));
    assert.deepEqual(await readdir(join(dirs[1]!, 'etc')), ['a', 'b', 'dir']); // 'a' is the whiteout device
    // Idempotent, and nothing left in tmp.
    assert.deepEqual(await store.snapshots.ensure(layers), dirs);
    assert.deepEqual(await readdir(store.tmp), []);

    const view = new RootfsView(dirs);
    assert.equal((await view.readFile('/etc/b'))?.toString(), '2');
    assert.equal(await view.lstat('etc/a'), undefined);
    assert.deepEqual(await view.readdir('/etc'), ['b', 'c', 'dir']);
    assert.deepEqual(await view.readdir('/etc/dir'), ['y']);
    assert.equal(await view.readFile('etc/dir/x'), undefined);
    assert.equal((await view.readFile('bin/sh'))?.toString(), 'sh');
    assert.equal(await view.resolve('bin/sh'), '/usr/bin/sh');
    assert.equal(await view.resolve('/bin', false), '/bin');
    assert.equal((await view.lstat('/bin'))?.linkname, 'usr/bin');
    assert.equal(await view.resolve('esc'), '/etc/b'); // '..' cannot climb out of the rootfs
    assert.equal((await view.readFile('abs'))?.toString(), '2'); // absolute links are rootfs-absolute
    assert.equal((await view.lstat('lib'))?.type, 'file');
    assert.equal(await view.readFile('lib/f'), undefined);
    assert.deepEqual(await view.readdir('/'), ['abs', 'bin', 'esc', 'etc', 'lib', 'usr']);

    const link = await store.snapshots.shortLink(chain[2]!);
    assert.ok(link.length < 80);
    assert.equal(await realpath(link), await realpath(dirs[2]!));
    assert.equal(await store.snapshots.shortLink(chain[2]!), link);
  });

  it('refuses a layer whose content does not match its diffID, leaving no snapshot', async () => {
    const l = await writeLayer([f('x', 'x')], store.blobs);
    const wrong = { ...l, diffID: 'sha256:' + '0'.repeat(64) };
    await assert.rejects(store.snapshots.ensure([wrong]), (e: unknown) => e instanceof UserError && e.message.includes(l.digest));
    assert.equal(await store.snapshots.has('0'.repeat(64)), false);
    assert.deepEqual(await readdir(store.tmp), []);
  });

  it('RootfsView resolution never escapes, even through symlink loops', async () => {
    const l = await writeLayer([s('loop', 'loop'), s('up', '../../..'), d('a'), s('a/b', '/up/etc')], store.blobs);
    const [dir] = await store.snapshots.ensure([l]);
    const view = new RootfsView([dir!]);
    assert.equal(await view.resolve('up'), '/');
    assert.equal(await view.resolve('a/b/passwd'), '/etc/passwd');
    await assert.rejects(view.resolve('loop/x'), /too many levels/);
    assert.equal(await view.readFile('a/b/passwd'), undefined);
  });
});
