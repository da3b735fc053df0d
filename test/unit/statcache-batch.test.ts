// digestMany hashes a context's uncached files on the native addon's pool threads: the digests must
// be exactly those of the one-file path (hashFile), for empty, small and multi-buffer files, in the
// order asked; they are remembered like any other; a file that cannot be read fails as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashFile, StatCache } from '../../cache/stat-cache.js';
import { nativeAvailable } from '../../native/index.js';
import { TempDir } from '../helpers/cli.js';

test('digestMany equals hashFile per file and fills the cache; an unreadable file still fails', async () => {
  assert.ok(nativeAvailable(), 'the native addon is built (setup.sh): this test is about its hasher');
  const t = new TempDir();
  try {
    const ctx = t.dir('ctx');
    const old = new Date(Date.now() - 3600_000);
    const sizes = [0, 1, 4095, 4096, 262_143, 262_144, 262_145, 1_000_003];
    const rels: string[] = [];
    for (let i = 0; i < 150; i++) {
      const rel = `d${i % 7}/f${i}`;
      mkdirSync(join(ctx, `d${i % 7}`), { recursive: true });
      writeFileSync(join(ctx, rel), randomBytes(sizes[i % sizes.length]!));
      utimesSync(join(ctx, rel), old, old);
      rels.push(rel);
    }
    await new Promise((r) => setTimeout(r, 150)); // past the racy window of the files' ctimes (set just now)
    const items = rels.map((rel) => ({ rel, st: statSync(join(ctx, rel)) }));
    const sc = StatCache.forContext(t.dir('root'), ctx, t.dir('tmp'));
    const got = await sc.digestMany(items);
    const want = await Promise.all(rels.map((rel) => hashFile(join(ctx, rel))));
    assert.deepEqual(got, want);
    for (const [i, it] of items.entries()) assert.equal(sc.cached(it.rel, it.st), want[i], `${it.rel} remembered`);

    rmSync(join(ctx, rels[3]!));
    const again = StatCache.forContext(t.dir('root2'), ctx, t.dir('tmp2'));
    await assert.rejects(again.digestMany(items), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  } finally {
    t.cleanup();
  }
});
