// The blob info cache: what one process learns about where a registry holds blobs, a later one
// can mount from; concurrent writers merge; a damaged file is a cold cache, not an error.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BlobLocations } from '../../registry/distribution/blob-locations.js';

const root = mkdtempSync(join(tmpdir(), 'tsbuild-bloc-'));
after(() => rmSync(root, { recursive: true, force: true }));
const fresh = () => join(mkdtempSync(join(root, 'c-')), 'blob-info-cache.json');

test('what one process records, the next one finds (other repositories of the same registry only)', async () => {
  const file = fresh();
  const first = BlobLocations.for(file);
  first.record('reg:5000', 'base', 'sha256:a');
  first.record('other:5000', 'base', 'sha256:a');
  first.record('reg:5000', 'app', 'sha256:a');
  await first.save();
  BlobLocations.clear(); // a new process
  const next = BlobLocations.for(file);
  assert.deepEqual(await next.mountCandidates('reg:5000', 'app2', 'sha256:a'), ['app', 'base'], 'most recently learnt first');
  assert.deepEqual(await next.mountCandidates('reg:5000', 'base', 'sha256:a'), ['app']);
  assert.deepEqual(await next.mountCandidates('reg:5000', 'x', 'sha256:unknown'), []);
  // Without a file nothing outlives the process.
  BlobLocations.for(undefined).record('reg:5000', 'mem', 'sha256:m');
  BlobLocations.clear();
  assert.deepEqual(await BlobLocations.for(undefined).mountCandidates('reg:5000', 'x', 'sha256:m'), []);
});

test('a process saving after another merges instead of overwriting it', async () => {
  const file = fresh();
  const a = BlobLocations.for(file);
  await a.mountCandidates('r', 'x', 'sha256:z'); // a loaded the (empty) file before b wrote
  BlobLocations.clear();
  const b = BlobLocations.for(file);
  b.record('r', 'from-b', 'sha256:b');
  a.record('r', 'from-a', 'sha256:a');
  await b.save();
  await a.save(); // a read the file before b wrote it: its save must keep b's entry
  BlobLocations.clear();
  const c = BlobLocations.for(file);
  assert.deepEqual(await c.mountCandidates('r', 'x', 'sha256:a'), ['from-a']);
  assert.deepEqual(await c.mountCandidates('r', 'x', 'sha256:b'), ['from-b']);
});

test('saving what is already known does not rewrite the file; a damaged file is a cold cache', async () => {
  const file = fresh();
  const a = BlobLocations.for(file);
  a.record('r', 'repo', 'sha256:1');
  await a.save();
  const written = statSync(file).mtimeMs;
  const before = readFileSync(file, 'utf8');
  await new Promise((r) => setTimeout(r, 20));
  a.record('r', 'repo', 'sha256:2');
  await a.save();
  const written2 = statSync(file).mtimeMs;
  assert.notEqual(written2, written, 'something new: written');
  const before2 = readFileSync(file, 'utf8');
  await new Promise((r) => setTimeout(r, 20));
  // A warm push learns nothing new, whatever order it meets the blobs in.
  a.record('r', 'repo', 'sha256:2');
  a.record('r', 'repo', 'sha256:1');
  await a.save();
  assert.equal(statSync(file).mtimeMs, written2);
  assert.equal(readFileSync(file, 'utf8'), before2);
  assert.notEqual(before2, before);
  writeFileSync(file, '{"version":1,"blobs":');
  BlobLocations.clear();
  const b = BlobLocations.for(file);
  assert.deepEqual(await b.mountCandidates('r', 'x', 'sha256:1'), []);
  b.record('r', 'again', 'sha256:1');
  await b.save();
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { version: 1, blobs: { 'sha256:1': ['r/again'] } });
  assert.deepEqual(readdirSync(dirname(file)).sort(), ['blob-info-cache.json'], 'no temp or lock file left beside it');
});

test('the file stays bounded: the least recently learnt digests go first', async () => {
  const file = fresh();
  const a = BlobLocations.for(file);
  for (let i = 0; i < 4100; i++) a.record('r', 'repo', `sha256:${i}`);
  a.record('r', 'repo', 'sha256:0'); // learnt again: now among the newest
  await a.save();
  const blobs = JSON.parse(readFileSync(file, 'utf8')).blobs as Record<string, string[]>;
  assert.equal(Object.keys(blobs).length, 4096);
  assert.ok('sha256:0' in blobs && !('sha256:1' in blobs) && 'sha256:4099' in blobs);
});

test('a location a registry refused to mount from is dropped from the file too', async () => {
  const file = fresh();
  const a = BlobLocations.for(file);
  a.record('r', 'gone', 'sha256:x');
  a.record('r', 'kept', 'sha256:x');
  await a.save();
  BlobLocations.clear();
  const b = BlobLocations.for(file);
  assert.deepEqual(await b.mountCandidates('r', 'app', 'sha256:x'), ['kept', 'gone']);
  b.forget('r', 'gone', 'sha256:x');
  assert.deepEqual(await b.mountCandidates('r', 'app', 'sha256:x'), ['kept']);
  await b.save();
  BlobLocations.clear();
  assert.deepEqual(await BlobLocations.for(file).mountCandidates('r', 'app', 'sha256:x'), ['kept'], 'a later process does not try it again');
});

test('saves of one process run one after the other; a lock held elsewhere skips the save, never waits', async () => {
  const file = fresh();
  const a = BlobLocations.for(file);
  a.record('r', 'one', 'sha256:1');
  const first = a.save();
  a.record('r', 'two', 'sha256:2');
  await Promise.all([first, a.save()]);
  BlobLocations.clear();
  const b = BlobLocations.for(file);
  assert.deepEqual(await b.mountCandidates('r', 'x', 'sha256:1'), ['one']);
  assert.deepEqual(await b.mountCandidates('r', 'x', 'sha256:2'), ['two']);
  // Another live process holds the lock (our parent stands in for it): the save returns at once.
  writeFileSync(`${file}.lock`, String(process.ppid));
  b.record('r', 'three', 'sha256:3');
  await b.save();
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).blobs['sha256:3'], undefined, 'skipped, not waited for');
  rmSync(`${file}.lock`);
});
