// The build cache's correctness matrix, with the real CLI on a busybox base: for each change, exactly
// which steps hit and which miss (and the reason the first miss gives). RUN steps write
// `date +%s%N`, so a step that ran again would have a different layer: equal layers prove a hit
// did not run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, linkSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tsbuildOk, TempDir } from '../helpers/cli.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';
import { build, diffIds, outcomes, verdicts } from './cache-helpers.js';
import { imageBlobs } from '../fuzz/hostile-kit.js';

// Steps: 1 FROM, 2 COPY base.txt, 3 RUN stamp1, 4 COPY app/, 5 RUN stamp2, 6 ARG VERSION, 7 ENV,
// 8 RUN uses VERSION, 9 LABEL. Layers: [base, 2, 3, 4, 5, 8].
const CONTAINERFILE = `FROM busybox
COPY base.txt /base.txt
RUN date +%s%N > /stamp1
COPY app/ /app/
RUN date +%s%N > /stamp2
ARG VERSION=1
ENV B=1
RUN echo "$VERSION" > /version && date +%s%N > /stamp3
LABEL done=yes
`;
const ALL_HIT = { 2: 'hit', 3: 'hit', 4: 'hit', 5: 'hit', 6: 'hit', 7: 'hit', 8: 'hit', 9: 'hit' } as const;

let tmp: TempDir;
let busybox: BusyboxImage;
let root: string;
let ctx: string;
let baseline: { id: string; layers: string[] };

function rebuild(extra: string[] = []) {
  const r = build(root, ['-t', 'matrix', ...extra, ctx]);
  return { ...r, v: verdicts(r.stderr), layers: diffIds(root, 'matrix'), out: outcomes(r.stderr) };
}

before(() => {
  tmp = new TempDir();
  busybox = makeBusyboxImage();
  root = join(tmp.path, 'root');
  tsbuildOk(['pull', '--root', root, `docker-archive:${busybox.dockerArchive}`]);
  ctx = join(tmp.path, 'ctx');
  tmp.file('ctx/Containerfile', CONTAINERFILE);
  tmp.file('ctx/base.txt', 'base\n');
  tmp.file('ctx/app/x.js', 'x1\n');
  tmp.file('ctx/app/y.js', 'y1\n');
  tmp.file('ctx/notes.md', 'not copied\n');
  tmp.file('ctx/app/secret.log', 'ignored\n');
  tmp.file('ctx/.containerignore', 'app/*.log\n');
  const first = rebuild();
  for (const o of first.out) assert.equal(o.cached, false, `first build: step ${o.step} must run`);
  assert.equal(first.out.length, 8);
  assert.equal(first.out[0]!.reason, 'not in cache');
  baseline = { id: first.id, layers: first.layers };
});

after(() => {
  busybox?.cleanup();
  tmp?.cleanup();
});

test('no change: every step hits, same image ID and layers', () => {
  const r = rebuild();
  assert.deepEqual(r.v, ALL_HIT);
  assert.equal(r.id, baseline.id, 'a full hit gives the same image');
  assert.deepEqual(r.layers, baseline.layers);
});

test('touching a copied file without changing it: all hit', () => {
  const later = new Date(Date.now() + 60_000);
  utimesSync(join(ctx, 'app/x.js'), later, later);
  utimesSync(join(ctx, 'base.txt'), later, later);
  const r = rebuild();
  assert.deepEqual(r.v, ALL_HIT);
  assert.equal(r.id, baseline.id);
});

test('changing an ignored file: all hit', () => {
  writeFileSync(join(ctx, 'app/secret.log'), 'changed, but ignored\n');
  assert.deepEqual(rebuild().v, ALL_HIT);
});

test('changing a file no COPY selects: all hit', () => {
  writeFileSync(join(ctx, 'notes.md'), 'edited\n');
  tmp.file('ctx/new-unrelated.txt', 'new\n');
  assert.deepEqual(rebuild().v, ALL_HIT);
});

test('an unused build arg: all hit', () => {
  const r = rebuild(['--build-arg', 'NOBODY_USES_THIS=1']);
  assert.deepEqual(r.v, ALL_HIT);
  assert.equal(r.id, baseline.id);
});

test('changing a copied file: that step and later ones rebuild, earlier ones hit', () => {
  writeFileSync(join(ctx, 'app/x.js'), 'x2\n');
  const r = rebuild();
  assert.deepEqual(r.v, { 2: 'hit', 3: 'hit', 4: 'miss', 5: 'miss', 6: 'miss', 7: 'miss', 8: 'miss', 9: 'miss' });
  assert.equal(r.out.find((o) => o.step === 4)!.reason, 'app/x.js changed');
  assert.equal(r.out.find((o) => o.step === 5)!.reason, 'previous step changed');
  // Layers of steps 2 and 3 are the same blobs (RUN stamp1 did not run); 4, 5 and 8 are new.
  assert.deepEqual(r.layers.slice(0, 3), baseline.layers.slice(0, 3));
  for (const i of [3, 4, 5]) assert.notEqual(r.layers[i], baseline.layers[i], `layer ${i} rebuilt`);
  baseline = { id: r.id, layers: r.layers };
  // And back to a full hit on the next build.
  assert.deepEqual(rebuild().v, ALL_HIT);
});

test('adding a file to a copied directory: that COPY misses and says so', () => {
  tmp.file('ctx/app/z.js', 'z\n');
  const r = rebuild();
  assert.equal(r.v[3], 'hit');
  assert.equal(r.v[4], 'miss');
  assert.equal(r.out.find((o) => o.step === 4)!.reason, 'app/z.js added');
  baseline = { id: r.id, layers: r.layers };
});

test('changing a used build arg: rebuilds from its first use', () => {
  const r = rebuild(['--build-arg', 'VERSION=2']);
  assert.deepEqual(r.v, { 2: 'hit', 3: 'hit', 4: 'hit', 5: 'hit', 6: 'hit', 7: 'hit', 8: 'miss', 9: 'miss' });
  assert.equal(r.out.find((o) => o.step === 8)!.reason, 'build arg VERSION changed');
  assert.deepEqual(r.layers.slice(0, 5), baseline.layers.slice(0, 5));
  assert.notEqual(r.layers[5], baseline.layers[5]);
  // The default again: the old entry is still there.
  const back = rebuild();
  assert.deepEqual(back.v, ALL_HIT);
  assert.equal(back.id, baseline.id);
});

test('--no-cache runs every step; the cache is still used afterwards', () => {
  const r = rebuild(['--no-cache']);
  for (const o of r.out) assert.equal(o.cached, false);
  assert.equal(r.out[0]!.reason, '--no-cache');
  assert.deepEqual(rebuild().v, ALL_HIT);
});

test('hard links in the context are part of the key: a link made a copy (and back) rebuilds', () => {
  const dir = join(tmp.path, 'hardlinks');
  tmp.file('hardlinks/Containerfile', 'FROM scratch\nCOPY app/ /app/\n');
  tmp.file('hardlinks/app/a', 'same\n');
  linkSync(join(dir, 'app/a'), join(dir, 'app/b'));
  build(root, ['-t', 'hardlinks', dir]);
  assert.deepEqual(verdicts(build(root, ['-t', 'hardlinks', dir]).stderr), { 2: 'hit' });
  unlinkSync(join(dir, 'app/b'));
  copyFileSync(join(dir, 'app/a'), join(dir, 'app/b'));
  assert.deepEqual(outcomes(build(root, ['-t', 'hardlinks', dir]).stderr).map((o) => [o.cached, o.reason]), [[false, 'app/b changed']]);
  unlinkSync(join(dir, 'app/b'));
  linkSync(join(dir, 'app/a'), join(dir, 'app/b'));
  assert.deepEqual(verdicts(build(root, ['-t', 'hardlinks', dir]).stderr), { 2: 'hit' }, 'linked again: the first entry fits');
});

test('a COPY of a source symlink keys on the file it leads to', () => {
  const links = join(tmp.path, 'links');
  tmp.file('links/Containerfile', 'FROM scratch\nCOPY current /etc/app.conf\n');
  tmp.file('links/conf/v1.conf', 'v=1\n');
  tmp.file('links/conf/v2.conf', 'v=1\n');
  symlinkSync('/conf/v1.conf', join(links, 'current'));
  const first = build(root, ['-t', 'links', links]);
  assert.deepEqual(verdicts(build(root, ['-t', 'links', links]).stderr), { 2: 'hit' });
  writeFileSync(join(links, 'conf/v1.conf'), 'v=2\n');
  const changed = build(root, ['-t', 'links', links]);
  assert.deepEqual(outcomes(changed.stderr).map((o) => [o.cached, o.reason]), [[false, 'conf/v1.conf changed']]);
  assert.notEqual(changed.id, first.id);
  // The link moved to another file: a different source, whose content is what the layer holds.
  unlinkSync(join(links, 'current'));
  symlinkSync('conf/v2.conf', join(links, 'current'));
  const moved = build(root, ['-t', 'links', links]);
  assert.equal(outcomes(moved.stderr)[0]!.cached, false);
  // The layer tar, not the config (whose history also names etc/app.conf).
  const layer = imageBlobs(root, 'links', tmp.path).find((b) => b.data[0] !== 0x7b && b.data.includes('etc/app.conf'))!;
  assert.ok(layer.data.includes('v=1\n') && !layer.data.includes('v=2\n'), 'the layer holds conf/v2.conf');
});

test('changing the base image: every step rebuilds', () => {
  // A different image now answers to "busybox" (localhost/busybox is looked up first).
  const base2 = tmp.file('base2/Containerfile', 'FROM busybox\nLABEL variant=2\n');
  const b = build(root, ['-t', 'busybox', '-f', base2, join(tmp.path, 'base2')]);
  assert.ok(b.id);
  const r = rebuild();
  for (const o of r.out) assert.equal(o.cached, false, `step ${o.step} must rebuild`);
  assert.equal(r.out[0]!.reason, 'base image changed');
  assert.notEqual(r.layers[1], undefined);
  assert.notEqual(r.layers[2], baseline.layers[2], 'RUN stamp1 ran again');
});
