// The stat cache forgets deleted files when it is saved (it used to keep every file a context ever
// had), keeps entries of files that still exist even when this run did not look them up (another
// Containerfile may COPY them), and does not rewrite its file when nothing changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StatCache } from '../../cache/stat-cache.js';
import { TempDir } from '../helpers/cli.js';

/** The one stat cache file of the store. */
function cacheFile(root: string): string {
  const dir = join(root, 'cache', 'stat');
  const names = readdirSync(dir);
  assert.equal(names.length, 1);
  return join(dir, names[0]!);
}
const rows = (root: string) => Object.keys((JSON.parse(readFileSync(cacheFile(root), 'utf8')) as { entries: Record<string, unknown> }).entries).sort();

async function hashAll(root: string, ctx: string, tmp: string, rels: string[]): Promise<StatCache> {
  // Files whose ctime is within the racy window are not remembered: let the clock move on.
  await new Promise((r) => setTimeout(r, 150));
  const sc = StatCache.forContext(root, ctx, tmp);
  for (const rel of rels) await sc.digest(rel, statSync(join(ctx, rel)));
  await sc.save();
  return sc;
}

test('entries of deleted files are dropped on save; live unlooked-up ones stay', async () => {
  const t = new TempDir();
  try {
    const ctx = t.dir('ctx');
    const root = t.dir('root');
    const tmp = t.dir('tmp');
    const old = new Date(Date.now() - 3600_000);
    const files = ['a.txt', 'd/b.txt', 'd/c.txt', 'keep.txt', 'only-other-build.txt'];
    mkdirSync(join(ctx, 'd'));
    for (const f of files) {
      writeFileSync(join(ctx, f), f);
      utimesSync(join(ctx, f), old, old);
    }
    await hashAll(root, ctx, tmp, files);
    assert.deepEqual(rows(root), [...files].sort());

    // The context is hashed again (keep.txt looked up) after a file was deleted, a directory was
    // replaced by a file (ENOTDIR below it); only-other-build.txt is not selected but still exists.
    rmSync(join(ctx, 'a.txt'));
    rmSync(join(ctx, 'd'), { recursive: true });
    writeFileSync(join(ctx, 'd'), 'now a file');
    const sc = await hashAll(root, ctx, tmp, ['keep.txt']);
    assert.equal(sc.counters.pruned, 3);
    assert.deepEqual(rows(root), ['keep.txt', 'only-other-build.txt']);

    // A path that became a directory is no longer a file entry either.
    rmSync(join(ctx, 'only-other-build.txt'));
    mkdirSync(join(ctx, 'only-other-build.txt'));
    await hashAll(root, ctx, tmp, ['keep.txt']);
    assert.deepEqual(rows(root), ['keep.txt']);
  } finally {
    t.cleanup();
  }
});

test('an unchanged context saves nothing and prunes nothing', async () => {
  const t = new TempDir();
  try {
    const ctx = t.dir('ctx');
    const root = t.dir('root');
    const tmp = t.dir('tmp');
    const old = new Date(Date.now() - 3600_000);
    writeFileSync(join(ctx, 'x'), 'x');
    utimesSync(join(ctx, 'x'), old, old);
    await hashAll(root, ctx, tmp, ['x']);
    const before = statSync(cacheFile(root)).mtimeMs;
    const ino = statSync(cacheFile(root)).ino;
    await new Promise((r) => setTimeout(r, 20));
    const sc = await hashAll(root, ctx, tmp, ['x']);
    assert.equal(sc.counters.hits, 1);
    assert.equal(sc.counters.pruned, 0);
    assert.equal(statSync(cacheFile(root)).ino, ino, 'not rewritten');
    assert.equal(statSync(cacheFile(root)).mtimeMs, before);
    // A cache never loaded (no lookups) is never overwritten with nothing.
    await StatCache.forContext(root, ctx, tmp).save();
    assert.deepEqual(rows(root), ['x']);
  } finally {
    t.cleanup();
  }
});
