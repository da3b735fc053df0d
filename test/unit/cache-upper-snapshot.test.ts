// An overlay upper dir made fit to be its layer's snapshot (scanDir's leftOut + upperAsSnapshot)
// equals what unpacking the written layer gives, down to what a layer cannot hold: sockets (and the
// mtime of the dir one was in), overlay's own xattrs (origin, impure), a marker of the namespace the
// mount did not use, the root dir's mode and xattrs, and mtimes under --timestamp / SOURCE_DATE_EPOCH.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobStore } from '../../cache/blobs.js';
import { applyLayer } from '../../cache/layer-apply.js';
import { scanDir, type LeftOut } from '../../cache/layer-scan.js';
import { writeLayer } from '../../cache/layer-write.js';
import { loadNative, type NativeFs } from '../../cache/native.js';
import { upperAsSnapshot, type MtimePolicy } from '../../cache/upper-snapshot.js';
import { describeSnapshot, snapshotDiff } from '../helpers/snapshot-tree.js';

describe('upperAsSnapshot', () => {
  let root: string;
  const servers: Server[] = [];
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-upper-'));
  });
  after(async () => {
    for (const s of servers) s.close(); // closing unlinks the socket file: only at the end
    await rm(root, { recursive: true, force: true });
  });

  /** An upper dir as a root overlay (trusted.* namespace) leaves it after a step. */
  async function makeUpper(native: NativeFs, name: string): Promise<string> {
    const up = join(root, name);
    await mkdir(join(up, 'opq'), { recursive: true });
    await mkdir(join(up, 'foreign'));
    await mkdir(join(up, 'run'));
    await writeFile(join(up, 'opq/f'), 'f');
    await writeFile(join(up, 'foreign/g'), 'g');
    native.lsetxattr(join(up, 'opq'), 'trusted.overlay.opaque', Buffer.from('y'));
    native.lsetxattr(join(up, 'opq'), 'trusted.overlay.impure', Buffer.from('y'));
    // A step may set the other namespace's marker itself: an ordinary xattr for this mount.
    native.lsetxattr(join(up, 'foreign'), 'user.overlay.opaque', Buffer.from('y'));
    native.lsetxattr(join(up, 'foreign/g'), 'trusted.overlay.origin', Buffer.from([0, 1, 2]));
    native.lsetxattr(join(up, 'foreign/g'), 'user.kept', Buffer.from('v'));
    native.mknod(join(up, 'gone'), 0o020000, 0, 0);
    for (const dir of ['', 'run']) {
      const server = createServer();
      await new Promise<void>((r) => server.listen(join(up, dir, 'sock'), r));
      servers.push(server);
    }
    await utimes(join(up, 'run'), 1_600_000_000.25, 1_600_000_000.25); // its socket was made after
    await utimes(join(up, 'opq/f'), 1_700_000_000.5, 1_700_000_000.5);
    native.lsetxattr(up, 'user.on-root', Buffer.from('r'));
    await chmod(up, 0o700);
    return up;
  }

  async function keptVsUnpacked(native: NativeFs, name: string, policy: MtimePolicy): Promise<string[]> {
    const up = await makeUpper(native, name);
    const leftOut: LeftOut = { sockets: [], xattrs: [] };
    const entries = await scanDir(up, { overlay: true, opaqueXattr: 'trusted.overlay.opaque', leftOut });
    assert.deepEqual(entries.map((e) => e.path), ['.wh.gone', 'foreign', 'foreign/g', 'opq', 'opq/.wh..wh..opq', 'opq/f', 'run']);
    assert.deepEqual(leftOut.sockets, ['run/sock', 'sock']);
    assert.deepEqual(leftOut.xattrs.map((x) => `${x.path} ${x.name}`).sort(), ['foreign user.overlay.opaque', 'foreign/g trusted.overlay.origin', 'opq trusted.overlay.impure']);

    // As commitEntries and writeLayer apply the policy.
    const blobs = new BlobStore(join(root, 'blobs'), join(root, 'tmp'));
    const fixed = policy.timestamp !== undefined ? entries.map((e) => ({ ...e, mtime: policy.timestamp! })) : entries;
    const layer = await writeLayer(fixed, blobs, { clampMtime: policy.clampMtime });
    await upperAsSnapshot(up, leftOut, entries, policy);
    const unpacked = join(root, `${name}-unpacked`);
    await mkdir(unpacked, { mode: 0o755 });
    await applyLayer(blobs.createReadStream(layer.digest), layer.mediaType, unpacked, { overlayWhiteouts: true });
    assert.equal(native.lgetxattr(join(up, 'opq'), 'trusted.overlay.opaque')?.toString(), 'y');
    return snapshotDiff(describeSnapshot(up), describeSnapshot(unpacked), ['kept', 'unpacked']);
  }

  for (const [what, policy] of [
    ['as found', {}],
    ['--timestamp', { timestamp: 1_500_000_000 }],
    ['SOURCE_DATE_EPOCH', { clampMtime: 1_650_000_000 }],
  ] as [string, MtimePolicy][]) {
    it(`leaves the upper equal to the unpacked layer (mtimes ${what})`, async (t) => {
      const native = await loadNative();
      if (!native || process.getuid?.() !== 0) return t.skip('needs the native addon and root (whiteouts, trusted.* xattrs)');
      assert.deepEqual(await keptVsUnpacked(native, `upper-${what}`, policy), []);
    });
  }
});
