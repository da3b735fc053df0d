// Chunks remembered across layer writes: a chunk taken from an earlier blob must give exactly the
// bytes compressing it again gives, and a missing blob must only cost the compression.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BlobStore } from '../../cache/blobs.js';
import { writeLayer, type LayerEntry } from '../../cache/layers.js';
import { CHUNK, pgzip } from '../../cache/pgzip.js';
import { ChunkReuse } from '../../cache/pgzip-reuse.js';

/** Compressible text that differs along its length (so chunks differ from one another). */
function text(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = 97 + ((x >>> 16) % 13);
  }
  return out;
}

function files(edit: string): LayerEntry[] {
  const out: LayerEntry[] = [{ path: 'app', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1_700_000_000 }];
  for (let i = 0; i < 40; i++) {
    const data = i === 17 ? Buffer.concat([Buffer.from(edit), text(100_000, i)]) : text(100_000, i);
    out.push({ path: `app/f${String(i).padStart(2, '0')}.js`, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1_700_000_000, size: data.length, content: { data } });
  }
  return out;
}

async function drain(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

describe('gzip chunk reuse', () => {
  let root: string;
  let blobs: BlobStore;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-reuse-'));
    blobs = new BlobStore(join(root, 'blobs'), join(root, 'tmp'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  async function withoutReuse<T>(f: () => Promise<T>): Promise<T> {
    process.env['TSBUILD_GZIP_REUSE'] = '0';
    try {
      return await f();
    } finally {
      delete process.env['TSBUILD_GZIP_REUSE'];
    }
  }

  it('an edited layer reuses the unchanged chunks and is byte for byte the same', async () => {
    const first = await writeLayer(files('// v1\n'), blobs);
    const index = JSON.parse(await readFile(join(root, 'cache', 'gzip-chunks.json'), 'utf8')) as { layers: { digest: string; chunks: unknown[] }[] };
    assert.equal(index.layers[0]!.digest, first.digest);
    assert.ok(index.layers[0]!.chunks.length >= 4, 'a multi-chunk layer is indexed');

    const edited = await writeLayer(files('// v2, longer\n'), blobs);
    const fresh = await withoutReuse(() => writeLayer(files('// v2, longer\n'), new BlobStore(join(root, 'other'), join(root, 'tmp'))));
    assert.deepEqual(edited, fresh);
    assert.notEqual(edited.digest, first.digest);
    const tar = gunzipSync(await blobs.readBytes(edited.digest));
    assert.equal('sha256:' + (await import('node:crypto')).createHash('sha256').update(tar).digest('hex'), edited.diffID);
  });

  it('takes every chunk of an unchanged stream from the memo, and survives a pruned blob', async () => {
    const data = Buffer.concat([text(3 * CHUNK + 777, 1), text(CHUNK, 2)]);
    const source = async function* () {
      for (let i = 0; i < data.length; i += CHUNK) yield data.subarray(i, i + CHUNK);
    };
    const plain = await drain(pgzip(source(), { level: 1 }));
    const m1 = await ChunkReuse.open(blobs);
    const stored = await blobs.ingest(pgzip(source(), { level: 1, memo: m1 }));
    await m1.save(stored.digest);
    assert.deepEqual(await blobs.readBytes(stored.digest), plain);

    const m2 = await ChunkReuse.open(blobs);
    assert.deepEqual(await drain(pgzip(source(), { level: 1, memo: m2 })), plain);
    assert.equal(m2.hits, Math.ceil(data.length / CHUNK), 'every chunk reused');
    m2.close();

    // A damaged blob (or index) is caught by the bytes' CRC: that chunk is compressed again.
    const path = blobs.path(stored.digest);
    const bytes = await readFile(path);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    await writeFile(path, bytes);
    const damaged = await ChunkReuse.open(blobs);
    assert.deepEqual(await drain(pgzip(source(), { level: 1, memo: damaged })), plain);
    assert.equal(damaged.hits, Math.ceil(data.length / CHUNK) - 1, 'all but the damaged chunk reused');
    damaged.close();

    await blobs.delete(stored.digest);
    const m3 = await ChunkReuse.open(blobs);
    assert.deepEqual(await drain(pgzip(source(), { level: 1, memo: m3 })), plain);
    assert.equal(m3.hits, 0);
    m3.close();
  });

  it('does not answer for another level', async () => {
    const data = text(2 * CHUNK + 5, 9);
    const source = async function* () {
      yield data;
    };
    const m1 = await ChunkReuse.open(blobs);
    const a = await blobs.ingest(pgzip(source(), { level: 1, memo: m1 }));
    await m1.save(a.digest);
    const m2 = await ChunkReuse.open(blobs);
    const six = await drain(pgzip(source(), { level: 6, memo: m2 }));
    assert.equal(m2.hits, 0);
    m2.close();
    assert.deepEqual(six, await drain(pgzip(source(), { level: 6 })));
  });
});
