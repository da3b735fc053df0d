import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { BlobStore } from '../../cache/blobs.js';
import { applyLayer, readLayerEntries, writeLayer, type LayerEntry } from '../../cache/layers.js';
import { loadNative } from '../../cache/native.js';
import { END_OF_ARCHIVE, encodeHeader, padding } from '../../cache/tar-format.js';
import { UserError } from '../../oci/errors.js';
import { OCI_LAYER, OCI_LAYER_GZIP } from '../../oci/mediatypes.js';

type Raw = Omit<LayerEntry, 'mode' | 'uid' | 'gid' | 'mtime'> & Partial<LayerEntry>;

/** A raw tar with names exactly as given (no normalisation, no sorting): the way a hostile layer looks. */
function rawTar(entries: Raw[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of entries) {
    const data = r.content && 'data' in r.content ? r.content.data : Buffer.alloc(0);
    const e: LayerEntry = { mode: r.type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: 1_500_000_000, ...r, size: data.length };
    parts.push(encodeHeader(e, e.mtime), data, padding(data.length));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

const file = (path: string, text = 'x'): Raw => ({ path, type: 'file', content: { data: Buffer.from(text) } });
const dir = (path: string): Raw => ({ path, type: 'dir' });

describe('applyLayer', () => {
  let root: string;
  let blobs: BlobStore;
  let n = 0;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-la-'));
    blobs = new BlobStore(join(root, 'blobs'), join(root, 'tmp'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  /** A fresh dir <root>/case-N/target next to an "outside" dir that a hostile layer must not touch. */
  async function fresh(): Promise<{ target: string; outside: string }> {
    const base = join(root, `case-${++n}`);
    await mkdir(join(base, 'target'), { recursive: true });
    await mkdir(join(base, 'outside'));
    await writeFile(join(base, 'outside', 'secret'), 'original');
    return { target: join(base, 'target'), outside: join(base, 'outside') };
  }

  const apply = (tar: Buffer, target: string, opts?: { overlayWhiteouts?: boolean }) =>
    applyLayer(Readable.from([gzipSync(tar)]), OCI_LAYER_GZIP, target, opts);

  it('round-trips what writeLayer wrote, and returns the same diffID', async () => {
    const entries: LayerEntry[] = [
      { path: 'bin', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1_000 },
      { path: 'bin/tool', type: 'file', mode: 0o4755, uid: 0, gid: 0, mtime: 2_000, content: { data: Buffer.from('tool') } },
      { path: 'bin/tool2', type: 'hardlink', mode: 0o4755, uid: 0, gid: 0, mtime: 2_000, linkname: 'bin/tool' },
      { path: 'bin/sh', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 3_000, linkname: '/bin/busybox' },
      { path: 'srv', type: 'dir', mode: 0o2750, uid: 1000, gid: 1001, mtime: 4_000 },
      { path: 'srv/data', type: 'file', mode: 0o640, uid: 1000, gid: 1001, mtime: 5_000, content: { data: Buffer.alloc(200_000, 7) } },
      { path: 'srv/' + 'n'.repeat(150), type: 'file', mode: 0o600, uid: 70000000, gid: 5, mtime: 6_000, content: { data: Buffer.from('long') } },
      { path: 'ro', type: 'dir', mode: 0o555, uid: 0, gid: 0, mtime: 7_000 },
      { path: 'ro/inner', type: 'file', mode: 0o444, uid: 0, gid: 0, mtime: 8_000, content: { data: Buffer.from('in') } },
    ];
    const l = await writeLayer(entries, blobs);
    const { target } = await fresh();
    const r = await applyLayer(blobs.createReadStream(l.digest), l.mediaType, target);
    assert.equal(r.diffID, l.diffID);
    assert.equal(await readFile(join(target, 'bin/tool'), 'utf8'), 'tool');
    assert.equal((await stat(join(target, 'bin/tool'))).mode & 0o7777, 0o4755);
    assert.equal((await stat(join(target, 'bin/tool'))).ino, (await stat(join(target, 'bin/tool2'))).ino);
    assert.equal(await readlink(join(target, 'bin/sh')), '/bin/busybox');
    assert.equal((await lstat(join(target, 'bin/sh'))).mtimeMs, 3_000_000);
    const srv = await stat(join(target, 'srv'));
    assert.equal(srv.mode & 0o7777, 0o2750);
    assert.equal(srv.mtimeMs, 4_000_000); // directory mtimes survive their children being written
    assert.equal((await stat(join(target, 'bin'))).mtimeMs, 1_000_000);
    assert.deepEqual(await readFile(join(target, 'srv/data')), Buffer.alloc(200_000, 7));
    assert.equal((await stat(join(target, 'ro'))).mode & 0o7777, 0o555);
    if (process.getuid?.() === 0) {
      assert.deepEqual([srv.uid, srv.gid], [1000, 1001]);
      const big = await stat(join(target, 'srv/' + 'n'.repeat(150)));
      assert.equal(big.uid, 70000000);
    }
    // umoci-independent cross-check: GNU tar sees the same tree.
    const listed = (await readdir(target)).sort();
    assert.deepEqual(listed, ['bin', 'ro', 'srv']);
  });

  it('lists entries without extracting', async () => {
    const tar = rawTar([dir('./a'), file('/a/b', 'hello'), { path: 'a/l', type: 'symlink', linkname: '../x' }, { path: 'a/h', type: 'hardlink', linkname: '/a/b' }]);
    const got = [];
    for await (const e of readLayerEntries(Readable.from([tar]), OCI_LAYER)) got.push(e);
    assert.deepEqual(got.map((e) => [e.path, e.type, e.size, e.linkname]), [
      ['a', 'dir', undefined, undefined], ['a/b', 'file', 5, undefined], ['a/l', 'symlink', undefined, '../x'], ['a/h', 'hardlink', undefined, 'a/b'],
    ]);
  });

  it('reads tars written by GNU tar (long names, gnu format) and computes their diffID', async () => {
    const src = await mkdtemp(join(root, 'gnu-'));
    const long = 'd'.repeat(120) + '/' + 'f'.repeat(120);
    await mkdir(join(src, 'd'.repeat(120)));
    await writeFile(join(src, long), 'gnu');
    await symlink('f'.repeat(120), join(src, 'lnk-' + 'x'.repeat(110)));
    const tar = execFileSync('tar', ['--format=gnu', '-cf', '-', '-C', src, '.']);
    const { target } = await fresh();
    const r = await applyLayer(Readable.from([tar]), OCI_LAYER, target);
    assert.equal(r.diffID, 'sha256:' + createHash('sha256').update(tar).digest('hex'));
    assert.equal(await readFile(join(target, long), 'utf8'), 'gnu');
    assert.equal(await readlink(join(target, 'lnk-' + 'x'.repeat(110))), 'f'.repeat(120));
  });

  it("rejects '..' names and leaves the outside untouched", async () => {
    const { target, outside } = await fresh();
    await assert.rejects(apply(rawTar([file('../outside/secret', 'pwned')]), target), (e: unknown) => e instanceof UserError && /\.\./.test(e.message));
    await assert.rejects(apply(rawTar([file('a/../../outside/new')]), target), UserError);
    assert.equal(await readFile(join(outside, 'secret'), 'utf8'), 'original');
    assert.deepEqual(await readdir(outside), ['secret']);
  });

  it('makes absolute names relative to the target', async () => {
    const { target, outside } = await fresh();
    await apply(rawTar([file(join(outside, 'secret'), 'inside')]), target);
    assert.equal(await readFile(join(outside, 'secret'), 'utf8'), 'original');
    assert.equal(await readFile(join(target, outside, 'secret'), 'utf8'), 'inside');
  });

  it('never writes through a symlink planted by the layer (absolute or relative)', async () => {
    for (const linkname of ['OUTSIDE', '../outside', '../../outside']) {
      const { target, outside } = await fresh();
      const tar = rawTar([{ path: 'esc', type: 'symlink', linkname: linkname === 'OUTSIDE' ? outside : linkname }, file('esc/secret', 'pwned'), file('esc/new', 'pwned')]);
      await assert.rejects(apply(tar, target), (e: unknown) => e instanceof UserError && /symlink/.test(e.message));
      assert.equal(await readFile(join(outside, 'secret'), 'utf8'), 'original');
      assert.deepEqual(await readdir(outside), ['secret']);
    }
  });

  it('replaces (does not follow) a symlink when a file entry has the same name', async () => {
    const { target, outside } = await fresh();
    await apply(rawTar([{ path: 'f', type: 'symlink', linkname: join(outside, 'secret') }, file('f', 'mine')]), target);
    assert.equal(await readFile(join(outside, 'secret'), 'utf8'), 'original');
    assert.ok((await lstat(join(target, 'f'))).isFile());
    assert.equal(await readFile(join(target, 'f'), 'utf8'), 'mine');
  });

  it('refuses hardlinks to targets outside (by .. or through a symlink)', async () => {
    const { target, outside } = await fresh();
    await assert.rejects(apply(rawTar([{ path: 'h', type: 'hardlink', linkname: '../outside/secret' }]), target), UserError);
    await assert.rejects(
      apply(rawTar([{ path: 'o', type: 'symlink', linkname: outside }, { path: 'h', type: 'hardlink', linkname: 'o/secret' }]), target),
      UserError,
    );
    await assert.rejects(apply(rawTar([{ path: 'h2', type: 'hardlink', linkname: 'missing' }]), target), /missing/);
    // An absolute hardlink target means rootfs-absolute: it resolves inside, so it is simply missing.
    await assert.rejects(apply(rawTar([{ path: 'h3', type: 'hardlink', linkname: join(outside, 'secret') }]), target), /missing/);
    assert.equal((await stat(join(outside, 'secret'))).nlink, 1);
  });

  it('applies whiteouts and opaque directories to lower content', async () => {
    const { target } = await fresh();
    await apply(rawTar([dir('a'), file('a/b'), file('a/c'), dir('d'), file('d/e'), dir('d/sub'), file('d/sub/deep'), file('keep')]), target);
    const upper = rawTar([file('a/.wh.b', ''), dir('d'), file('d/.wh..wh..opq', ''), file('d/new', 'n'), file('.wh.keep-not-there', '')]);
    const r = await apply(upper, target);
    assert.match(r.diffID, /^sha256:/);
    assert.deepEqual((await readdir(join(target, 'a'))).sort(), ['c']);
    assert.deepEqual((await readdir(join(target, 'd'))).sort(), ['new']);
    assert.deepEqual((await readdir(target)).sort(), ['a', 'd', 'keep']);
    // Opaque marker after new children of the same layer (other writers' order): the new children stay.
    const late = rawTar([dir('d'), file('d/newer', 'n'), file('d/.wh..wh..opq', '')]);
    await apply(late, target);
    assert.deepEqual((await readdir(join(target, 'd'))).sort(), ['newer']);
  });

  it('overlay-format whiteouts: char 0/0 devices and the opaque xattr (needs the native addon)', async (t) => {
    const native = await loadNative();
    const { target } = await fresh();
    const tar = rawTar([dir('a'), file('a/.wh.gone', ''), dir('o'), file('o/.wh..wh..opq', ''), file('o/x')]);
    if (!native) {
      await assert.rejects(apply(tar, target, { overlayWhiteouts: true }), /native addon/);
      t.diagnostic('native addon not built: checked only the clear error');
      return;
    }
    if (process.getuid?.() !== 0) return t.skip('creating whiteout devices needs root here');
    await apply(tar, target, { overlayWhiteouts: true });
    const wh = await lstat(join(target, 'a/gone'));
    assert.ok(wh.isCharacterDevice());
    assert.equal(wh.rdev, 0);
    assert.deepEqual(native.lgetxattr(join(target, 'o'), 'trusted.overlay.opaque'), Buffer.from('y'));
    assert.deepEqual(await readdir(join(target, 'o')), ['x']);
  });

  it('without overlay format, extraction works and overlay-control xattrs in a layer are ignored', async () => {
    const { target } = await fresh();
    const r = await apply(rawTar([{ path: 'd', type: 'dir', xattrs: { 'trusted.overlay.redirect': Buffer.from('/etc') } }, file('d/f')]), target);
    assert.ok(r.warnings.some((w) => w.includes('trusted.overlay.redirect')));
    assert.ok((await stat(join(target, 'd/f'))).isFile());
  });

  it('creates devices as root with the addon, else skips them with a warning', async () => {
    const { target } = await fresh();
    const r = await apply(rawTar([{ path: 'null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 }, { path: 'p', type: 'fifo', mode: 0o600 }]), target);
    const native = await loadNative();
    if (native && process.getuid?.() === 0) {
      const s = await lstat(join(target, 'null'));
      assert.ok(s.isCharacterDevice());
      assert.equal(s.rdev, (1 << 8) | 3);
      assert.ok((await lstat(join(target, 'p'))).isFIFO());
    } else {
      assert.equal(r.warnings.filter((w) => w.startsWith('skipped')).length, native ? 1 : 2);
    }
  });

  it('rejects corrupt archives with a UserError', async () => {
    const { target } = await fresh();
    const tar = rawTar([file('a', 'hello')]);
    tar[10] ^= 0xff; // breaks the header checksum
    await assert.rejects(applyLayer(Readable.from([tar]), OCI_LAYER, target), (e: unknown) => e instanceof UserError && /checksum/.test(e.message));
    const truncated = rawTar([file('a', 'x'.repeat(5000))]).subarray(0, 1024);
    await assert.rejects(applyLayer(Readable.from([truncated]), OCI_LAYER, target), /unexpected end/);
    await assert.rejects(applyLayer(Readable.from([Buffer.from('not gzip at all')]), OCI_LAYER_GZIP, target));
  });
});
