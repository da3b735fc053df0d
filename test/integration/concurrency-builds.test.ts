// Concurrency: four builds into one store at once, sharing the busybox base, a common first layer
// and the build cache, while `tsbuild prune` runs in a loop next to them (with a dangling image and
// stale cache entries to remove). Every build succeeds, every image has exactly its own content,
// nothing in use was removed (each image pushes and re-pulls whole), and check-store is clean.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { TempDir, tsbuild, tsbuildAsync, tsbuildOk, lastLine } from '../helpers/cli.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';
import { layoutBlobs, layerEntries } from '../fuzz/hostile-kit.js';

let tmp: TempDir;
let busybox: BusyboxImage;
let root: string;

before(() => {
  tmp = new TempDir();
  busybox = makeBusyboxImage();
  root = tmp.dir('store');
  tsbuildOk(['pull', '--root', root, `docker-archive:${busybox.dockerArchive}`]);
});
after(() => {
  busybox?.cleanup();
  tmp?.cleanup();
});

function context(i: number): string {
  const name = `ctx${i}`;
  tmp.file(`${name}/common/shared.bin`, Buffer.alloc(256 * 1024, 7));
  tmp.file(`${name}/own.txt`, `image ${i}\n`);
  tmp.file(`${name}/Containerfile`, [
    'FROM busybox',
    'COPY common/ /common/',
    'RUN mkdir -p /gen && for n in 1 2 3 4 5; do echo "$n" > /gen/$n; done',
    'ARG WHICH',
    'RUN echo "built $WHICH" > /which.txt',
    'COPY own.txt /own.txt',
    '',
  ].join('\n'));
  return join(tmp.path, name);
}

/** File contents of one path in an image, read from its pushed layers with tar (last layer wins). */
function fileIn(layout: string, path: string): string | undefined {
  let found: string | undefined;
  for (const b of layoutBlobs(layout)) {
    if (b.data.length < 512 || b.data.subarray(257, 262).toString('latin1') !== 'ustar') continue;
    if (!layerEntries([b]).includes(path)) continue;
    found = execFileSync('tar', ['-xOf', '-', path], { input: b.data, maxBuffer: 1 << 28 }).toString();
  }
  return found;
}

test('four concurrent builds sharing base and cache, with prune running alongside', { timeout: 600_000 }, async () => {
  // A dangling image and old cache entries give prune real work while the builds run.
  const old = context(99);
  tsbuildOk(['build', '--root', root, '-t', 'victim', '--build-arg', 'WHICH=old', old]);
  tmp.file('ctx99/own.txt', 'changed\n');
  tsbuildOk(['build', '--root', root, '-t', 'victim', '--build-arg', 'WHICH=old2', old]);

  let pruning = true;
  let prunes = 0;
  const pruneErrors: string[] = [];
  const pruner = (async () => {
    while (pruning) {
      const r = await tsbuildAsync(['prune', '--root', root]);
      prunes++;
      if (r.status !== 0) pruneErrors.push(r.stderr);
    }
  })();

  const builds = await Promise.all(
    [0, 1, 2, 3].map((i) => tsbuildAsync(['build', '--root', root, '-t', `conc-${i}`, '--build-arg', `WHICH=${i}`, context(i)])),
  );
  // A second round hits the cache the first round filled, still next to prune.
  const rebuilds = await Promise.all(
    [0, 1, 2, 3].map((i) => tsbuildAsync(['build', '--root', root, '-t', `conc-${i}`, '--build-arg', `WHICH=${i}`, context(i)])),
  );
  pruning = false;
  await pruner;
  assert.deepEqual(pruneErrors, [], 'prune never failed');
  assert.ok(prunes > 0);

  const ids = new Set<string>();
  for (let i = 0; i < 4; i++) {
    assert.equal(builds[i]!.status, 0, `build ${i}:\n${builds[i]!.stderr}`);
    assert.equal(rebuilds[i]!.status, 0, `rebuild ${i}:\n${rebuilds[i]!.stderr}`);
    // prune may drop cache entries between the rounds (that is its job), so the rebuild need not
    // be the same image; the tag points at the rebuild, whose content is checked below.
    const id = lastLine(rebuilds[i]!.stdout);
    ids.add(id);
    const layout = join(tmp.dir(`out${i}`), 'layout');
    tsbuildOk(['push', '--root', root, `conc-${i}`, `oci:${layout}:x`]);
    assert.equal(fileIn(layout, 'which.txt'), `built ${i}\n`);
    assert.equal(fileIn(layout, 'own.txt'), `image ${i}\n`);
    assert.equal(fileIn(layout, 'gen/5'), '5\n');
    assert.equal(fileIn(layout, 'common/shared.bin')?.length, 256 * 1024);
    assert.ok(fileIn(layout, 'bin/busybox') !== undefined || fileIn(layout, 'bin/sh') !== undefined, 'base layers present');
    const back = tmp.dir(`back${i}`);
    assert.equal(lastLine(tsbuildOk(['pull', '--root', back, `oci:${layout}:x`]).stdout), id, 'the image re-pulls whole');
  }
  assert.equal(ids.size, 4);
  const check = tsbuild(['check-store', '--root', root]);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  // After everything, a prune with no build running keeps every named image whole, and builds work.
  tsbuildOk(['prune', '--root', root]);
  const after = tsbuild(['check-store', '--root', root]);
  assert.equal(after.status, 0, after.stdout + after.stderr);
  for (let i = 0; i < 4; i++) tsbuildOk(['build', '--root', root, '-t', `conc-${i}`, '--build-arg', `WHICH=${i}`, context(i)]);
});
