// The build's one view of its context: the cache key and the COPY read the same lstat answers, so the
// layer a key names holds what the key hashed; and the key's digests are those of the earlier,
// asynchronous walk (pinned below), so existing caches stay valid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContextHasher } from '../../builder/context/hash.js';
import { IgnoreMatcher } from '../../builder/context/ignore.js';
import { buildContextSource, ContextSource } from '../../builder/steps/copy-source.js';
import { planCopy } from '../../builder/steps/copy.js';
import { MemRootfs } from '../../builder/steps/fileops-memfs.js';
import { StatCache } from '../../cache/stat-cache.js';
import { TempDir } from '../helpers/cli.js';

const loc = { file: 'Containerfile', line: 1 };
const IGNORE = ['logs', '!logs/keep.log', '*.md'];

/** A small context with a symlink, a non-ASCII name, an ignored directory and a re-included file. */
function makeContext(tmp: TempDir): string {
  const ctx = tmp.dir('ctx');
  const files: Record<string, string> = {
    'src/main.js': 'console.log(1)\n', 'src/lib/util.js': 'export {}\n', 'src/lib/é.txt': 'accent\n',
    'logs/a.log': 'x', 'logs/keep.log': 'keep\n', README: 'r\n', 'bin/run': '#!/bin/sh\n',
  };
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(ctx, p, '..'), { recursive: true });
    writeFileSync(join(ctx, p), c);
    chmodSync(join(ctx, p), 0o644);
  }
  chmodSync(join(ctx, 'bin/run'), 0o755);
  for (const d of ['', 'src', 'src/lib', 'logs', 'bin']) chmodSync(join(ctx, d), 0o755);
  symlinkSync('lib/util.js', join(ctx, 'src/link.js'));
  return ctx;
}

test('selection digests are the ones the earlier walk computed', async () => {
  const tmp = new TempDir();
  try {
    const ctx = makeContext(tmp);
    const h = new ContextHasher(ctx, IGNORE, StatCache.forContext(tmp.dir('root'), ctx, tmp.dir('tmp')));
    // [sources, --exclude, selection digest, sha256 of the per-file map] from the pre-synchronous hasher.
    const cases: [string[], string[] | undefined, string, string][] = [
      [['.'], undefined, 'sha256:b52b83eac77b4779b374f9898cb1d963ad34115d855e2242c73b1674792c3a42', '418ad00332997b40'],
      [['src/'], ['*.txt'], 'sha256:8f0a8d7730c86903f50ca3027d61ed260a395cb50e4e22f4c0f314201fb5951d', 'c22c55283d462db6'],
      [['src/*.js', 'README'], undefined, 'sha256:b30d675cb587896afb28193b787a9e539b9059e56adfb8ba1bf761939a0fe11f', '9614215647fd88fe'],
    ];
    for (const [sources, exclude, digest, files] of cases) {
      const r = await h.hashSources(sources, { verb: 'COPY', location: loc, exclude });
      assert.equal(r.digest, digest, JSON.stringify(sources));
      const map = JSON.stringify([...r.files.entries()].sort());
      assert.equal(createHash('sha256').update(map).digest('hex').slice(0, 16), files, `${JSON.stringify(sources)}: ${map}`);
    }
  } finally {
    tmp.cleanup();
  }
});

test('a COPY after its key sees the context the key hashed', async () => {
  const tmp = new TempDir();
  try {
    const ctx = makeContext(tmp);
    const build = { contextDir: ctx, ignorePatterns: IGNORE };
    const src = buildContextSource(build);
    assert.equal(buildContextSource(build), src, 'one view per build');
    assert.notEqual(buildContextSource({ ...build }), src, 'another build has its own');
    const h = new ContextHasher(ctx, IGNORE, StatCache.forContext(tmp.dir('root'), ctx, tmp.dir('tmp')));
    const sel = await h.hashSources(['.'], { verb: 'COPY', location: loc, source: src });
    // The context changes between the key and the copy (an editor saving, a generator running).
    writeFileSync(join(ctx, 'src/new.js'), 'late\n');
    const req = { sources: ['.'], dest: '/app/', workdir: '/', location: loc };
    const planned = (await planCopy(req, src, new MemRootfs(), { now: 1 })).map((e) => e.path);
    const hashed = [...sel.files.keys()].map((p) => (p === '.' ? 'app' : `app/${p}`));
    assert.deepEqual(planned.sort(), hashed.sort(), 'the copy holds exactly what the key hashed');
    assert.ok(!planned.includes('app/src/new.js'));
    // A fresh view (the next build) sees the new file.
    const fresh = (await planCopy(req, new ContextSource(ctx, new IgnoreMatcher(IGNORE)), new MemRootfs(), { now: 1 })).map((e) => e.path);
    assert.ok(fresh.includes('app/src/new.js'));
  } finally {
    tmp.cleanup();
  }
});
