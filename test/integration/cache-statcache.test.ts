// The persistent stat cache through the library API: a 10,000-file context is re-verified without
// reading a single file when nothing changed; one changed file is the only one read and is named
// as the reason for the miss; ignored files are never read at all.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from '../../builder/build.js';
import type { BuildEvent } from '../../builder/events.js';
import { TempDir } from '../helpers/cli.js';

const FILES = 10_000;
let tmp: TempDir;
let ctx: string;
let root: string;

async function run(): Promise<{ id: string; events: BuildEvent[] }> {
  const events: BuildEvent[] = [];
  const r = await build({ context: ctx, root, tags: ['statcache'], onEvent: (e) => events.push(e) });
  return { id: r.id, events };
}

const contextStats = (events: BuildEvent[]) => events.find((e) => e.type === 'context-hash') as Extract<BuildEvent, { type: 'context-hash' }>;
const cacheEvents = (events: BuildEvent[]) => events.filter((e) => e.type === 'step-cache') as Extract<BuildEvent, { type: 'step-cache' }>[];

before(async () => {
  tmp = new TempDir();
  ctx = tmp.dir('ctx');
  root = tmp.dir('root');
  for (let d = 0; d < 100; d++) {
    mkdirSync(join(ctx, 'src', `d${d}`), { recursive: true });
    for (let f = 0; f < FILES / 100; f++) writeFileSync(join(ctx, 'src', `d${d}`, `f${f}.txt`), `${d}/${f}\n`);
  }
  mkdirSync(join(ctx, 'node_modules'));
  for (let f = 0; f < 500; f++) writeFileSync(join(ctx, 'node_modules', `m${f}.js`), 'x');
  writeFileSync(join(ctx, '.dockerignore'), 'node_modules\n');
  writeFileSync(join(ctx, 'Containerfile'), 'FROM scratch\nCOPY src/ /src/\nLABEL a=b\n');
  // Files younger than the stat cache's racy window are re-read next time: let them age.
  await new Promise((r) => setTimeout(r, 300));
});

after(() => tmp?.cleanup());

test('cold build reads every selected file and no ignored one', async () => {
  const { events } = await run();
  assert.deepEqual(contextStats(events), { type: 'context-hash', filesRead: FILES, filesVerified: 0 });
});

test('an unchanged context is verified from the stat cache without reading files', async () => {
  const first = await run();
  assert.deepEqual(contextStats(first.events), { type: 'context-hash', filesRead: 0, filesVerified: FILES });
  assert.ok(cacheEvents(first.events).every((e) => e.cached));
});

test('one changed file: only it is read, and the miss names it', async () => {
  writeFileSync(join(ctx, 'src', 'd42', 'f7.txt'), 'changed\n');
  writeFileSync(join(ctx, 'node_modules', 'm1.js'), 'changed, ignored');
  const { events } = await run();
  assert.deepEqual(contextStats(events), { type: 'context-hash', filesRead: 1, filesVerified: FILES - 1 });
  const [copy, label] = cacheEvents(events);
  assert.equal(copy!.cached, false);
  assert.equal(copy!.reason, 'src/d42/f7.txt changed');
  assert.equal(label!.cached, false);
});
