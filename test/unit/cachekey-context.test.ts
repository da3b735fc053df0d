// Context hashing for cache keys: exactly the selected files count, ignored ones are never read,
// metadata-only changes (mtime) do not count, and the stat cache spares re-reading unchanged files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync, chmodSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ContextHasher } from '../../builder/context/hash.js';
import { StatCache } from '../../cache/stat-cache.js';
import { digestOf, explainMiss } from '../../builder/solve/cache-key.js';
import { TempDir } from '../helpers/cli.js';
import { BuildCache } from '../../cache/build-cache.js';

const loc = { file: 'Containerfile', line: 1 };

function setup() {
  const tmp = new TempDir();
  const ctx = tmp.dir('ctx');
  const root = tmp.dir('root');
  const old = new Date(Date.now() - 3600_000);
  for (const [p, c] of Object.entries({ 'app/a.js': 'a', 'app/b.js': 'b', 'app/debug.log': 'log', 'other.txt': 'o' })) {
    mkdirSync(join(ctx, p, '..'), { recursive: true });
    writeFileSync(join(ctx, p), c);
    utimesSync(join(ctx, p), old, old);
  }
  const hasher = (patterns = ['app/*.log']) => new ContextHasher(ctx, patterns, StatCache.forContext(root, ctx, tmp.dir('tmp')));
  return { tmp, ctx, hasher };
}

test('only selected, non-ignored files feed the digest', async () => {
  const { tmp, ctx, hasher } = setup();
  try {
    const h = hasher();
    const first = await h.hashSources(['app/'], { verb: 'COPY', location: loc });
    assert.deepEqual([...first.files.keys()].sort(), ['app', 'app/a.js', 'app/b.js']);
    writeFileSync(join(ctx, 'app/debug.log'), 'changed');
    writeFileSync(join(ctx, 'other.txt'), 'changed');
    assert.equal((await hasher().hashSources(['app/'], { verb: 'COPY', location: loc })).digest, first.digest);
    const later = new Date();
    utimesSync(join(ctx, 'app/a.js'), later, later);
    assert.equal((await hasher().hashSources(['app/'], { verb: 'COPY', location: loc })).digest, first.digest, 'mtime is not an input');
    chmodSync(join(ctx, 'app/a.js'), 0o755);
    assert.notEqual((await hasher().hashSources(['app/'], { verb: 'COPY', location: loc })).digest, first.digest, 'mode is an input');
    // Wildcards select just as COPY does.
    const wild = await hasher().hashSources(['app/*.js'], { verb: 'COPY', location: loc });
    assert.deepEqual([...wild.files.keys()].sort(), ['app/a.js', 'app/b.js']);
    // --exclude drops files from the selection.
    const ex = await hasher().hashSources(['app/'], { verb: 'COPY', location: loc, exclude: ['b.js'] });
    assert.deepEqual([...ex.files.keys()].sort(), ['app', 'app/a.js']);
  } finally {
    tmp.cleanup();
  }
});

test('a source symlink is hashed as what it leads to inside the context', async () => {
  const { tmp, ctx, hasher } = setup();
  try {
    symlinkSync('/other.txt', join(ctx, 'link'));
    const first = await hasher().hashSources(['link'], { verb: 'COPY', location: loc });
    assert.deepEqual([...first.files.keys()], ['other.txt'], 'the target, at its place in the context');
    writeFileSync(join(ctx, 'other.txt'), 'new content');
    assert.notEqual((await hasher().hashSources(['link'], { verb: 'COPY', location: loc })).digest, first.digest, 'the target\'s content is an input');
    // Pointing the link elsewhere changes the selection even when the content is the same.
    writeFileSync(join(ctx, 'twin.txt'), 'new content');
    const before = await hasher().hashSources(['link'], { verb: 'COPY', location: loc });
    unlinkSync(join(ctx, 'link'));
    symlinkSync('twin.txt', join(ctx, 'link'));
    assert.notEqual((await hasher().hashSources(['link'], { verb: 'COPY', location: loc })).digest, before.digest);
    // A link to a directory selects the directory's files.
    symlinkSync('/app', join(ctx, 'dirlink'));
    assert.deepEqual([...(await hasher().hashSources(['dirlink'], { verb: 'COPY', location: loc })).files.keys()].sort(), ['app', 'app/a.js', 'app/b.js']);
  } finally {
    tmp.cleanup();
  }
});

test('the stat cache verifies unchanged files without reading them, across runs', async () => {
  const { tmp, ctx } = setup();
  try {
    // Files changed in the last moments are "racy" and not remembered: let the clock move on.
    await new Promise((r) => setTimeout(r, 200));
    tmp.dir('tmp');
    const stats1 = StatCache.forContext(join(tmp.path, 'root'), ctx, join(tmp.path, 'tmp'));
    const h1 = new ContextHasher(ctx, ['app/*.log'], stats1);
    const d1 = await h1.hashSources(['.'], { verb: 'COPY', location: loc });
    assert.equal(stats1.counters.reads, 3, 'a.js, b.js, other.txt read; the ignored log never');
    await h1.save();
    const stats2 = StatCache.forContext(join(tmp.path, 'root'), ctx, join(tmp.path, 'tmp'));
    const d2 = await new ContextHasher(ctx, ['app/*.log'], stats2).hashSources(['.'], { verb: 'COPY', location: loc });
    assert.equal(d2.digest, d1.digest);
    assert.equal(stats2.counters.reads, 0);
    assert.equal(stats2.counters.hits, 3);
    // A content change with the same size is still caught (mtime/ctime moved).
    writeFileSync(join(ctx, 'app/a.js'), 'A');
    const stats3 = StatCache.forContext(join(tmp.path, 'root'), ctx, join(tmp.path, 'tmp'));
    const d3 = await new ContextHasher(ctx, ['app/*.log'], stats3).hashSources(['.'], { verb: 'COPY', location: loc });
    assert.notEqual(d3.digest, d1.digest);
    assert.equal(stats3.counters.reads, 1);
  } finally {
    tmp.cleanup();
  }
});

test('explainMiss names what changed', () => {
  const prev = { instruction: 'RUN x', 'arg:VERSION': '1', 'file:app/a.js': 'aa', 'file:app/b.js': 'bb' };
  assert.equal(explainMiss(undefined, prev), undefined);
  assert.equal(explainMiss(prev, { ...prev, 'arg:VERSION': '2' }), 'build arg VERSION changed');
  assert.equal(explainMiss(prev, { ...prev, 'file:app/a.js': 'zz' }), 'app/a.js changed');
  const { 'file:app/b.js': _b, ...removed } = prev;
  assert.equal(explainMiss(prev, { ...removed, 'file:app/c.js': 'cc' }), 'app/c.js added; app/b.js removed');
  assert.equal(explainMiss(prev, { ...prev, instruction: 'RUN y' }), 'instruction changed');
  assert.equal(explainMiss({ base: 'sha256:1' }, { base: 'sha256:2' }), 'base image changed');
});

test('explainMiss with the file digests kept apart, as recorded beside the inputs, and from an older record', async () => {
  const inputs = { instruction: 'COPY . /app', selection: 's1' };
  const files = new Map([['file:app/a.js', 'aa'], ['file:app/b.js', 'bb'], ['file:app/c.js', 'cc'], ['file:app/d.js', 'dd']]);
  const now = new Map([['file:app/a.js', 'a2'], ['file:app/b.js', 'bb'], ['file:app/d.js', 'd2'], ['file:app/e.js', 'ee']]);
  assert.equal(explainMiss(inputs, { ...inputs, selection: 's2' }, files, now), 'app/a.js, app/d.js changed; app/e.js added; app/c.js removed');
  // A record written with the files among the inputs explains the same way.
  const older = { ...inputs, ...Object.fromEntries(files) };
  assert.equal(explainMiss(older, { ...inputs, selection: 's2' }, undefined, now), 'app/a.js, app/d.js changed; app/e.js added; app/c.js removed');
  // Through the record on disk: the map comes back whole, and the key never depended on it.
  const tmp = new TempDir();
  const cache = new BuildCache(tmp.dir('store'), tmp.dir('tmp'));
  const slot = digestOf('slot', { stage: '0', step: '2' });
  await cache.recordInputs(slot, inputs, files);
  const back = await cache.previousInputs(slot);
  assert.deepEqual(back?.inputs, inputs);
  assert.deepEqual([...(back?.files ?? [])], [...files]);
  assert.equal(digestOf('p', back!.inputs), digestOf('p', inputs));
  tmp.cleanup();
});

test('keys: input order does not matter, any value does', () => {
  assert.equal(digestOf('p', { a: '1', b: '2' }), digestOf('p', { b: '2', a: '1' }));
  assert.notEqual(digestOf('p', { a: '1' }), digestOf('q', { a: '1' }));
  assert.notEqual(digestOf('p', { a: '1' }), digestOf('p', { a: '2' }));
});
