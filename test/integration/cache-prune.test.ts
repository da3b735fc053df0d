// `tsbuild prune`: dangling images, cache entries, unreferenced blobs and snapshots go; named images
// stay complete (pushable); filters and --keep-storage keep what they should; and a build that runs
// during a prune --all still finishes with a complete image.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tsbuild, tsbuildAsync, tsbuildOk, TempDir } from '../helpers/cli.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';
import { build, verdicts } from './cache-helpers.js';

let tmp: TempDir;
let busybox: BusyboxImage;

before(() => {
  tmp = new TempDir();
  busybox = makeBusyboxImage();
});
after(() => {
  busybox?.cleanup();
  tmp?.cleanup();
});

function freshRoot(name: string): string {
  const root = join(tmp.path, name);
  tsbuildOk(['pull', '--root', root, `docker-archive:${busybox.dockerArchive}`]);
  return root;
}

function context(name: string, containerfile: string, files: Record<string, string> = {}): string {
  tmp.file(`${name}/Containerfile`, containerfile);
  for (const [k, v] of Object.entries(files)) tmp.file(`${name}/${k}`, v);
  return join(tmp.path, name);
}

const count = (dir: string) => readdirSync(dir).length;
const images = (root: string) => JSON.parse(tsbuildOk(['images', '--root', root, '--format', 'json']).stdout) as unknown[];

test('prune removes dangling images, cache and unreferenced blobs; named images stay complete', () => {
  const root = freshRoot('root-basic');
  const ctx = context('basic', 'FROM busybox\nCOPY a.txt /a.txt\nRUN date +%s%N > /stamp\n', { 'a.txt': 'one' });
  build(root, ['-t', 'app', ctx]);
  writeFileSync(join(ctx, 'a.txt'), 'two');
  build(root, ['-t', 'app', ctx]); // the first image loses its name: dangling
  assert.equal(images(root).length, 3);
  const blobsBefore = count(join(root, 'blobs', 'sha256'));

  const r = tsbuildOk(['prune', '--root', root]);
  assert.match(r.stderr, /Deleted 1 images, 4 cache entries, \d+ blobs, \d+ snapshots/);
  assert.equal(images(root).length, 2, 'busybox and app remain');
  assert.ok(count(join(root, 'blobs', 'sha256')) < blobsBefore, 'blobs of the dangling image are gone');
  // What remains is complete: it can be pushed (every blob read) and used as a base.
  tsbuildOk(['push', '--root', root, 'app', `oci:${join(tmp.path, 'pushed')}:app`]);
  // The cache is empty now: everything runs again, and says why.
  const again = build(root, ['-t', 'app', ctx]);
  assert.deepEqual(verdicts(again.stderr), { 2: 'miss', 3: 'miss' });
  assert.match(again.stderr, /--> COPY a.txt \.\.\.: not in cache/);
});

test('--filter until= keeps recent cache; --keep-storage keeps what fits', () => {
  const root = freshRoot('root-filter');
  const ctx = context('filter', 'FROM busybox\nRUN date +%s%N > /stamp\nLABEL x=y\n');
  build(root, ['-t', 'f', ctx]);
  assert.match(tsbuildOk(['prune', '--root', root, '--filter', 'until=24h']).stderr, /Deleted 0 images, 0 cache entries/);
  assert.match(tsbuildOk(['prune', '--root', root, '--keep-storage', '10GB']).stderr, /Deleted 0 images, 0 cache entries/);
  assert.deepEqual(verdicts(build(root, ['-t', 'f', ctx]).stderr), { 2: 'hit', 3: 'hit' });
  assert.match(tsbuildOk(['prune', '--root', root, '--keep-storage', '0']).stderr, /Deleted 0 images, 2 cache entries/);
  assert.deepEqual(verdicts(build(root, ['-t', 'f', ctx]).stderr), { 2: 'miss', 3: 'miss' });
  // Bad values are one-line user errors.
  for (const args of [['--keep-storage', 'lots'], ['--filter', 'until=soon'], ['--filter', 'label=x']]) {
    const bad = tsbuild(['prune', '--root', root, ...args]);
    assert.equal(bad.status, 1, bad.stderr);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  }
});

test('--all removes every image but nothing a running build uses', async () => {
  const root = freshRoot('root-live');
  const ctx = context('live', 'FROM busybox\nRUN sleep 3 && date > /stamp\nRUN echo done > /done\n');
  const running = tsbuildAsync(['build', '--root', root, '-t', 'live', ctx]);
  // Let it get going (base resolved, first RUN started), then prune everything.
  await new Promise((r) => setTimeout(r, 1500));
  const p = tsbuildOk(['prune', '--root', root, '--all']);
  assert.match(p.stderr, /a build is running/);
  const r = await running;
  assert.equal(r.status, 0, r.stderr);
  // Its image is complete: every blob is there to push.
  tsbuildOk(['push', '--root', root, 'live', `oci:${join(tmp.path, 'live-oci')}:live`]);
  // With no build running, --all removes every image and every blob.
  tsbuildOk(['prune', '--root', root, '--all']);
  assert.equal(images(root).length, 0);
  assert.equal(count(join(root, 'blobs', 'sha256')), 0);
});
