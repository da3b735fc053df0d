// Layers written with each compression (gzip through the parallel writer, zstd through the zstd
// program on Node 20) read back with the same diffID, a multi-MiB file included, and bad levels
// are refused.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobStore } from '../../cache/blobs.js';
import { applyLayer, writeLayer, type LayerEntry } from '../../cache/layers.js';
import { UserError } from '../../oci/errors.js';
import { OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD } from '../../oci/mediatypes.js';

describe('layer compression', () => {
  let root: string;
  let blobs: BlobStore;
  let big: string;
  let entries: LayerEntry[];
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-lc-'));
    blobs = new BlobStore(join(root, 'blobs'), join(root, 'tmp'));
    big = join(root, 'big.bin');
    // Half random, half text: both the stored and the deflated path, across several 1 MiB chunks.
    const data = Buffer.concat([randomBytes(3 << 20), Buffer.from('compressible line\n'.repeat(200_000))]);
    await writeFile(big, data);
    entries = [
      { path: 'd', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1 },
      { path: 'd/big', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1, size: data.length, content: { path: big } },
      { path: 'd/small', type: 'file', mode: 0o600, uid: 1, gid: 2, mtime: 1, size: 5, content: { data: Buffer.from('hello') } },
    ];
  });
  after(() => rm(root, { recursive: true, force: true }));

  for (const [compression, mediaType] of [['gzip', OCI_LAYER_GZIP], ['zstd', OCI_LAYER_ZSTD], ['none', OCI_LAYER]] as const) {
    it(`${compression}: same diffID for every compression, and it unpacks to the same files`, async () => {
      const plain = await writeLayer(entries, blobs, { compression: 'none' });
      const l = await writeLayer(entries, blobs, { compression });
      assert.equal(l.mediaType, mediaType);
      assert.equal(l.diffID, plain.diffID);
      const dest = join(root, `out-${compression}`);
      execFileSync('mkdir', ['-p', dest]);
      const r = await applyLayer(blobs.createReadStream(l.digest), l.mediaType, dest);
      assert.equal(r.diffID, l.diffID);
      const sum = async (p: string) => createHash('sha256').update(await readFile(p)).digest('hex');
      assert.equal(await sum(join(dest, 'd/big')), await sum(big));
    });
  }

  it('gzip and zstd blobs are what the system tools read', async () => {
    const g = await writeLayer(entries, blobs, { compression: 'gzip', level: 6 });
    const z = await writeLayer(entries, blobs, { compression: 'zstd', level: 5 });
    const list = (cmd: string) => execFileSync('sh', ['-c', cmd], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.match(list(`gzip -dc ${blobs.path(g.digest)} | tar -t`), /d\/big/);
    assert.match(list(`zstd -dcq ${blobs.path(z.digest)} | tar -t`), /d\/small/);
  });

  it('refuses a level out of range as a user error', async () => {
    await assert.rejects(writeLayer(entries, blobs, { compression: 'gzip', level: 12 }), UserError);
    await assert.rejects(writeLayer(entries, blobs, { compression: 'zstd', level: 0 }), UserError);
  });
});
