// --no-cache means no cache at all, also not the memo of gzip chunks compressed for earlier layers
// (cache/pgzip-reuse.ts): a --no-cache build neither reads nor writes its index; a normal build does,
// and its rebuild after an edit still produces the layer a --no-cache build makes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from '../../builder/build.js';
import { TempDir } from '../helpers/cli.js';

/** Three MiB of text that is not all the same: several 1 MiB gzip chunks. */
function writeContext(ctx: string, edit: string): void {
  const lines: string[] = [];
  for (let i = 0; i < 60_000; i++) lines.push(`line ${i} ${(i * 2654435761) % 1000003} payload-payload-payload`);
  writeFileSync(join(ctx, 'big.txt'), lines.join('\n') + edit);
  writeFileSync(join(ctx, 'Containerfile'), 'FROM scratch\nCOPY big.txt /big.txt\n');
}

test('--no-cache does not consult or feed the gzip chunk memo; with the cache on, reuse gives the same layer', async () => {
  const tmp = new TempDir();
  try {
    const ctx = tmp.dir('ctx');
    const root = tmp.dir('root');
    const index = join(root, 'cache', 'gzip-chunks.json');
    writeContext(ctx, '');
    const first = await build({ context: ctx, root, tags: ['chunks'], noCache: true, timestamp: 1700000000 });
    assert.equal(existsSync(index), false, 'a --no-cache build wrote the chunk index');

    const cached = await build({ context: ctx, root, tags: ['chunks'], timestamp: 1700000000 });
    assert.equal(cached.id, first.id);
    writeContext(ctx, '\nedited');
    const withMemo = await build({ context: ctx, root, tags: ['chunks'], timestamp: 1700000000 });
    assert.equal(existsSync(index), true, 'a normal build did not note its chunks');

    // The same edited context, --no-cache, in a fresh store: the same layer bytes without any memo.
    rmSync(index);
    const fresh = tmp.dir('fresh');
    const without = await build({ context: ctx, root: fresh, tags: ['chunks'], noCache: true, timestamp: 1700000000 });
    assert.equal(existsSync(join(fresh, 'cache', 'gzip-chunks.json')), false);
    assert.equal(without.id, withMemo.id);
  } finally {
    tmp.cleanup();
  }
});
