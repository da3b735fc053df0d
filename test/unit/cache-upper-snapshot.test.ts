// An overlay upper dir made fit to be its layer's snapshot (scanDir's leftOut + upperAsSnapshot)
// equals what unpacking the written layer gives, down to what a layer cannot hold: sockets,
// overlay's own xattrs (origin, impure), a marker of the namespace the mount did not use, and the
// root dir's mode and xattrs.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobStore } from '../../cache/blobs.js';
import { applyLayer } from '../../cache/layer-apply.js';
import { scanDir, type LeftOut } from '../../cache/layer-scan.js';
import { writeLayer } from '../../cache/layer-write.js';
import { loadNative } from '../../cache/native.js';
import { upperAsSnapshot } from '../../cache/upper-snapshot.js';
import { describeSnapshot, snapshotDiff } from '../helpers/snapshot-tree.js';

describe('upperAsSnapshot', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-upper-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('leaves the upper equal to the unpacked layer', async (t) => {
    const native = await loadNative();
    if (!native || process.getuid?.() !== 0) return t.skip('needs the native addon and root (whiteouts, trusted.* xattrs)');
    const up = join(root, 'upper');
    await mkdir(join(up, 'opq'), { recursive: true });
    await mkdir(join(up, 'foreign'));
    await writeFile(join(up, 'opq/f'), 'f');
    await writeFile(join(up, 'foreign/g'), 'g');
    native.lsetxattr(join(up, 'opq'), 'trusted.overlay.opaque', Buffer.from('y'));
    native.lsetxattr(join(up, 'opq'), 'trusted.overlay.impure', Buffer.from('y'));
    // A step may set the other namespace's marker itself: an ordinary xattr for this mount.
    native.lsetxattr(join(up, 'foreign'), 'user.overlay.opaque', Buffer.from('y'));
    native.lsetxattr(join(up, 'foreign/g'), 'trusted.overlay.origin', Buffer.from([0, 1, 2]));
    native.lsetxattr(join(up, 'foreign/g'), 'user.kept', Buffer.from('v'));
    native.mknod(join(up, 'gone'), 0o020000, 0, 0);
    const server = createServer();
    await new Promise<void>((r) => server.listen(join(up, 'sock'), r));
    t.after(() => server.close()); // closing would unlink the socket file
    native.lsetxattr(up, 'user.on-root', Buffer.from('r'));
    await chmod(up, 0o700);

    const leftOut: LeftOut = { sockets: [], xattrs: [] };
    const entries = await scanDir(up, { overlay: true, opaqueXattr: 'trusted.overlay.opaque', leftOut });
    assert.deepEqual(entries.map((e) => e.path), ['.wh.gone', 'foreign', 'foreign/g', 'opq', 'opq/.wh..wh..opq', 'opq/f']);
    assert.deepEqual(leftOut.sockets, ['sock']);
    assert.deepEqual(leftOut.xattrs.map((x) => `${x.path} ${x.name}`).sort(), ['foreign user.overlay.opaque', 'foreign/g trusted.overlay.origin', 'opq trusted.overlay.impure']);

    const blobs = new BlobStore(join(root, 'blobs'), join(root, 'tmp'));
    const layer = await writeLayer(entries, blobs);
    await upperAsSnapshot(up, leftOut);
    const unpacked = join(root, 'unpacked');
    await mkdir(unpacked, { mode: 0o755 });
    await applyLayer(blobs.createReadStream(layer.digest), layer.mediaType, unpacked, { overlayWhiteouts: true });
    assert.deepEqual(snapshotDiff(describeSnapshot(up), describeSnapshot(unpacked), ['kept', 'unpacked']), []);
    assert.equal(native.lgetxattr(join(up, 'opq'), 'trusted.overlay.opaque')?.toString(), 'y');
  });
});
