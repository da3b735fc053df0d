// The library example from the README, run as written: extracted from README.md, type-checked
// with tsc (strict) against the shipped .d.ts through the package name, compiled and run with node
// in a directory that installs tsbuild the way npm would (node_modules/tsbuild).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { TempDir } from '../helpers/cli.js';
import { makeBusyboxImage, REPO_ROOT, type BusyboxImage } from '../helpers/busybox-image.js';

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

function readmeExample(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Library API'));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'README has a ts example under "Library API"');
  return m[1]!;
}

test('the README library example type-checks against the .d.ts and runs', () => {
  const dir = tmp.path;
  mkdirSync(join(dir, 'node_modules/@types'), { recursive: true });
  symlinkSync(REPO_ROOT, join(dir, 'node_modules/tsbuild'));
  symlinkSync(join(REPO_ROOT, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'));
  copyFileSync(busybox.dockerArchive, join(dir, 'busybox.tar'));
  tmp.file('app/Containerfile', 'FROM busybox\nARG GREETING\nRUN echo "$GREETING from RUN"\nCOPY msg.txt /msg.txt\n');
  tmp.file('app/msg.txt', 'hi\n');
  tmp.file('example.mts', readmeExample());
  const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
  const compiled = spawnSync(process.execPath, [tsc, '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', 'false', '--outDir', 'out', 'example.mts'], { cwd: dir, encoding: 'utf8' });
  assert.equal(compiled.status, 0, `tsc: ${compiled.stdout}${compiled.stderr}`);
  // The example's types came from the package's declaration files, not from sources.
  assert.ok(existsSync(join(REPO_ROOT, 'dist/index.d.ts')));
  const out = execFileSync(process.execPath, ['out/example.mjs'], { cwd: dir, encoding: 'utf8', timeout: 180_000 });
  assert.match(out, /^\[1\/4\] FROM busybox$/m);
  assert.match(out, /^ {2}hello from RUN$/m);
  assert.match(out, /^built [0-9a-f]{64} \(localhost\/my-app:1\.0\) steps: \S+ \d+ms \d+ms \d+ms$/m);
  assert.match(out, /^pushed sha256:[0-9a-f]{64} \(\d+ bytes\)$/m);
  assert.match(out, /^pushed sha256:[0-9a-f]{64}$/m);
  assert.ok(existsSync(join(dir, 'my-app.tar')));
});

test('library: build pulls a missing base itself (no puller given), tag() normalises, S2I and prune are exported', () => {
  const dir = join(tmp.path, 'lib2');
  mkdirSync(join(dir, 'node_modules/@types'), { recursive: true });
  symlinkSync(REPO_ROOT, join(dir, 'node_modules/tsbuild'));
  symlinkSync(join(REPO_ROOT, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'));
  tmp.file('lib2/ctx/Containerfile', `FROM ${busybox.ociRef}\nRUN echo built-on-pulled-base\n`);
  tmp.file('lib2/example.mts', `
import { build, tag, findImage, listImages, openStore, prune, s2iBuild, isUserError, type Puller, type RegistryOptions } from 'tsbuild';
const store = await openStore('store');
const registry: RegistryOptions = { tlsVerify: false };
const lines: string[] = [];
let pulledBlobs = 0;
const image = await build({ context: 'ctx', store, registry, onEvent: (ev) => { if (ev.type === 'output') lines.push(ev.text); }, onPullEvent: (ev) => { if (ev.type === 'blob' && ev.phase === 'done') pulledBlobs++; } });
console.log('output', lines.join('|'));
console.log('pull events', pulledBlobs > 0);
console.log('stored', await tag(store, image.id, 'mine'));
console.log('found', (await findImage(store, 'mine'))?.id === image.id);
try {
  await tag(store, image.id, 'Not A Valid Ref!!');
} catch (e) {
  console.log('refused', isUserError(e));
}
console.log('names', (await listImages(store)).flatMap((i) => i.record.names).sort().join(' '));
const p: Puller | undefined = undefined;
console.log('exports', typeof s2iBuild, typeof prune, p === undefined);
// The remote build cache by reference, as --cache-to / --cache-from: a fresh store reuses the RUN.
await build({ context: 'ctx', store, registry, cacheTo: 'oci:cache-layout:c' });
const other = await openStore('store2');
const cached: boolean[] = [];
await build({ context: 'ctx', store: other, cacheFrom: 'oci:cache-layout:c', onEvent: (ev) => { if (ev.type === 'step-done' && ev.step === 2) cached.push(ev.cached); } });
console.log('cache-from hit', cached.join(','));
`);
  const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
  const compiled = spawnSync(process.execPath, [tsc, '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', 'false', '--outDir', 'out', 'example.mts'], { cwd: dir, encoding: 'utf8' });
  assert.equal(compiled.status, 0, `tsc: ${compiled.stdout}${compiled.stderr}`);
  const out = execFileSync(process.execPath, ['out/example.mjs'], { cwd: dir, encoding: 'utf8', timeout: 180_000 });
  assert.match(out, /^output .*built-on-pulled-base/m, 'the FROM oci: base was pulled by build() itself');
  assert.match(out, /^pull events true$/m);
  assert.match(out, /^stored localhost\/mine:latest$/m);
  assert.match(out, /^found true$/m);
  assert.match(out, /^refused true$/m);
  assert.doesNotMatch(out, /Not A Valid/);
  assert.match(out, /^exports function function true$/m);
  assert.match(out, /^cache-from hit true$/m);
});

test('library: aborting a build during a large COPY stops it and commits no layer or cache entry', async () => {
  const { build, openStore, isUserError } = await import('../../index.js');
  const dir = join(tmp.path, 'abort-copy');
  mkdirSync(join(dir, 'ctx'), { recursive: true });
  // 4 GiB of zeros (sparse): seconds to tar, hash and compress, so the abort lands mid-layer.
  execFileSync('truncate', ['-s', '4G', join(dir, 'ctx', 'big')]);
  tmp.file('abort-copy/ctx/Containerfile', 'FROM scratch\nCOPY big /big\n');
  const store = await openStore(join(dir, 'store'));
  const controller = new AbortController();
  let copying = false;
  const aborted = build({
    context: join(dir, 'ctx'),
    store,
    signal: controller.signal,
    onEvent: (ev) => {
      if (ev.type === 'step-start' && ev.step === 2) {
        copying = true;
        setTimeout(() => controller.abort(), 300);
      }
    },
  });
  await assert.rejects(aborted, (e: unknown) => isUserError(e) && e.exitCode === 130 && /interrupted/.test(e.message));
  assert.ok(copying, 'the COPY had started');
  assert.deepEqual(readdirSync(store.tmp), [], 'no partial blob left');
  // Nothing of the interrupted COPY was recorded: building again runs it (and can be cut short again).
  const again = new AbortController();
  let cached: boolean | undefined;
  const rerun = build({
    context: join(dir, 'ctx'),
    store,
    signal: again.signal,
    onEvent: (ev) => {
      if (ev.type === 'step-done' && ev.step === 2) cached = ev.cached;
      if (ev.type === 'step-start' && ev.step === 2) setTimeout(() => again.abort(), 300);
    },
  });
  await assert.rejects(rerun, (e: unknown) => isUserError(e) && e.exitCode === 130);
  assert.notEqual(cached, true, 'the aborted COPY left no cache entry');
});

test('library: pull and push stop on their signal: nothing stored, no manifest written', async () => {
  const { pull, push, listImages, openStore, isUserError } = await import('../../index.js');
  const dir = join(tmp.path, 'abort-transfer');
  const store = await openStore(join(dir, 'store'));
  await pull(store, busybox.ociRef);
  const [image] = await listImages(store);
  // Abort as the first blob starts: the copy must stop there, not finish regardless.
  const abortOnFirstBlob = () => {
    const controller = new AbortController();
    return { signal: controller.signal, onEvent: (ev: { type: string; phase?: string }) => ev.type === 'blob' && ev.phase === 'started' && controller.abort() };
  };
  const layout = join(dir, 'pushed');
  await assert.rejects(push(store, image!.record.id, `oci:${layout}:t`, abortOnFirstBlob()), (e: unknown) => isUserError(e) && e.exitCode === 130 && e.message === 'interrupted');
  const index = existsSync(join(layout, 'index.json')) ? JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) : { manifests: [] };
  assert.deepEqual(index.manifests, [], 'no manifest was written');
  const fresh = await openStore(join(dir, 'fresh'));
  await assert.rejects(pull(fresh, busybox.ociRef, abortOnFirstBlob()), (e: unknown) => isUserError(e) && e.exitCode === 130);
  assert.deepEqual(await listImages(fresh), [], 'no image was stored');
  assert.deepEqual(readdirSync(fresh.tmp), [], 'no partial blob left');
  // Without an abort the same calls work.
  await push(store, image!.record.id, `oci:${layout}:t`);
  assert.equal(JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')).manifests.length, 1);
});
