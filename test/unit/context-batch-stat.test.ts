// The context walk's batched lstat (native lstatAt): every entry it describes must be what Node's
// own lstatSync gives, field for field, for every kind of entry — the stat cache compares these
// numbers across builds, and the layer is written from them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { linkSync, lstatSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IgnoreMatcher } from '../../builder/context/ignore.js';
import { ContextSource } from '../../builder/steps/copy-source.js';
import { LSTAT_FIELDS, lstatAt, nativeAvailable } from '../../native/index.js';
import { TempDir } from '../helpers/cli.js';

function makeTree(tmp: TempDir): string {
  const ctx = tmp.dir('ctx');
  mkdirSync(join(ctx, 'd/e'), { recursive: true });
  writeFileSync(join(ctx, 'a.txt'), 'a\n');
  writeFileSync(join(ctx, 'd/b.bin'), Buffer.alloc(5000, 7));
  writeFileSync(join(ctx, 'd/e/c'), '');
  linkSync(join(ctx, 'a.txt'), join(ctx, 'd/a-hardlink'));
  symlinkSync('../a.txt', join(ctx, 'd/link'));
  symlinkSync('/nowhere', join(ctx, 'dangling'));
  execFileSync('mkfifo', [join(ctx, 'd/fifo')]);
  if (process.getuid?.() === 0) execFileSync('mknod', [join(ctx, 'd/null'), 'c', '1', '3']);
  // Sub-millisecond times, where a different rounding of mtimeMs would show.
  utimesSync(join(ctx, 'd/b.bin'), 1_700_000_000.123456, 1_700_000_000.987654);
  return ctx;
}

/** Every entry, depth first, as a ContextSource describes it. */
function describeAll(src: ContextSource, rel = ''): unknown[] {
  const out: unknown[] = [];
  for (const c of src.children(rel)) {
    out.push([c.rel, c.st]);
    if (c.st.type === 'dir') out.push(...describeAll(src, c.rel));
  }
  return out;
}

test('lstatAt gives the numbers Node\'s lstat gives, and -1 for a name that is gone', { skip: !nativeAvailable() && 'native addon not built' }, () => {
  const tmp = new TempDir();
  try {
    const ctx = makeTree(tmp);
    const names = ['a.txt', 'd', 'dangling', 'missing'];
    const got = lstatAt(ctx, names)!;
    assert.equal(got.length, names.length * LSTAT_FIELDS);
    for (const [i, n] of names.entries()) {
      const f = got.subarray(i * LSTAT_FIELDS, (i + 1) * LSTAT_FIELDS);
      if (n === 'missing') {
        assert.equal(f[0], -1);
        continue;
      }
      const st = lstatSync(join(ctx, n));
      assert.deepEqual([...f], [st.mode, st.size, st.mtimeMs, st.ctimeMs, st.ino, st.rdev, st.nlink, st.dev], n);
    }
    // Only plain names: nothing that could point outside the directory.
    for (const bad of ['../a.txt', 'd/b.bin', '', '.', '..']) assert.throws(() => lstatAt(ctx, [bad]), /plain file names/, bad);
  } finally {
    tmp.cleanup();
  }
});

test('a context walk with batched lstat describes every entry as the one-by-one walk does', { skip: !nativeAvailable() && 'native addon not built' }, () => {
  const tmp = new TempDir();
  try {
    const ctx = makeTree(tmp);
    const matcher = () => new IgnoreMatcher(['d/e']);
    const batched = describeAll(new ContextSource(ctx, matcher(), true));
    const single = describeAll(new ContextSource(ctx, matcher(), false));
    assert.deepEqual(batched, single);
    const rels = batched.map((e) => (e as [string])[0]);
    assert.ok(rels.includes('d/fifo') && rels.includes('d/link') && rels.includes('d/a-hardlink') && !rels.includes('d/e'), rels.join(' '));
  } finally {
    tmp.cleanup();
  }
});
