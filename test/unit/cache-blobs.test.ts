import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { BlobStore } from '../../cache/blobs.js';
import { sha256 } from '../../oci/digest.js';
import { UserError } from '../../oci/errors.js';

describe('BlobStore', () => {
  let root: string;
  let blobs: BlobStore;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-blobs-'));
    blobs = new BlobStore(join(root, 'blobs'), join(root, 'tmp'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('stores bytes under their sha256 and reads them back', async () => {
    const data = Buffer.from('hello world\n');
    const r = await blobs.putBytes(data);
    assert.equal(r.digest, sha256(data));
    assert.equal(r.size, data.length);
    assert.equal(blobs.path(r.digest), join(root, 'blobs', 'sha256', r.digest.slice(7)));
    assert.equal(await blobs.has(r.digest), true);
    assert.equal(await blobs.size(r.digest), data.length);
    assert.deepEqual(await blobs.readBytes(r.digest), data);
    const chunks: Buffer[] = [];
    for await (const c of blobs.createReadStream(r.digest)) chunks.push(c as Buffer);
    assert.deepEqual(Buffer.concat(chunks), data);
    const listed: string[] = [];
    for await (const d of blobs.list()) listed.push(d);
    assert.deepEqual(listed, [r.digest]);
  });

  it('ingests a stream with a matching expected digest and size', async () => {
    const parts = [Buffer.from('a'.repeat(70000)), Buffer.from('b'.repeat(70000))];
    const expected = { digest: sha256(Buffer.concat(parts)), size: 140000 };
    const r = await blobs.ingest(Readable.from(parts), expected);
    assert.deepEqual(r, expected);
  });

  it('a digest mismatch throws a UserError naming the digest and leaves nothing behind', async () => {
    const wrong = sha256('something else');
    await assert.rejects(blobs.putBytes('payload', { digest: wrong }), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, new RegExp(wrong));
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
    assert.equal(await blobs.has(wrong), false);
    assert.equal(await blobs.has(sha256('payload')), false);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
  });

  it('a size mismatch (too long or too short) is refused', async () => {
    await assert.rejects(blobs.putBytes('12345', { size: 4 }), UserError);
    await assert.rejects(blobs.putBytes('12345', { size: 6 }), UserError);
    assert.equal(await blobs.has(sha256('12345')), false);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
  });

  it('a failing source leaves nothing behind', async () => {
    async function* broken() {
      yield Buffer.from('partial');
      throw new Error('network went away');
    }
    await assert.rejects(blobs.ingest(broken()), /network went away/);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
  });

  it('refuses malformed digests instead of building paths from them', async () => {
    assert.throws(() => blobs.path('sha256:../../etc/passwd'), UserError);
    await assert.rejects(blobs.readBytes(sha256('never stored')), /not found/);
  });

  it('putBytes of a blob already in place writes nothing, and still checks what it was told', async () => {
    const data = Buffer.from('stored once\n');
    const first = await blobs.putBytes(data);
    // Storing it again would rename a new file in, with a current mtime: mark this one as old.
    const old = new Date('2001-01-01T00:00:00Z');
    await utimes(blobs.path(first.digest), old, old);
    const again = await blobs.putBytes(data, { digest: first.digest, size: data.length });
    assert.deepEqual(again, first);
    assert.equal((await stat(blobs.path(first.digest))).mtimeMs, old.getTime(), 'the blob was written again');
    // Expectations that do not match the bytes are refused as before, blob in place or not.
    await assert.rejects(blobs.putBytes(data, { digest: sha256('other') }), UserError);
    await assert.rejects(blobs.putBytes(data, { size: data.length + 1 }), UserError);
    // A file of the wrong size under the digest (not ours: ours are renamed in whole) is replaced.
    await writeFile(blobs.path(first.digest), 'trunc');
    assert.deepEqual(await blobs.putBytes(data), first);
    assert.deepEqual(await blobs.readBytes(first.digest), data);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
  });

  it('delete removes a blob', async () => {
    const r = await blobs.putBytes('to delete');
    await blobs.delete(r.digest);
    assert.equal(await blobs.has(r.digest), false);
  });
});
