// Independent stages run at the same time: four stages with a slow RUN each overlap (every one has
// started before any has finished, from the build's own step events — no wall-clock threshold), and
// with the CLI every progress line carries its stage's name. A rebuild hits all of them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { build } from '../../builder/build.js';
import type { BuildEvent } from '../../builder/events.js';
import { tsbuildOk, TempDir } from '../helpers/cli.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';
import { outcomes } from './cache-helpers.js';

const CONTAINERFILE = `FROM busybox AS a
RUN sleep 2 && echo a > /out
FROM busybox AS b
RUN sleep 2 && echo b > /out
FROM busybox AS c
RUN sleep 2 && echo c > /out
FROM busybox AS d
RUN sleep 2 && echo d > /out
FROM busybox
COPY --from=a /out /a
COPY --from=b /out /b
COPY --from=c /out /c
COPY --from=d /out /d
`;

let tmp: TempDir;
let busybox: BusyboxImage;
let root: string;
let ctx: string;

before(() => {
  tmp = new TempDir();
  busybox = makeBusyboxImage();
  root = join(tmp.path, 'root');
  tsbuildOk(['pull', '--root', root, `docker-archive:${busybox.dockerArchive}`]);
  tmp.file('ctx/Containerfile', CONTAINERFILE);
  ctx = join(tmp.path, 'ctx');
});
after(() => {
  busybox?.cleanup();
  tmp?.cleanup();
});

test('four slow stages overlap', async () => {
  const seen: { t: bigint; ev: BuildEvent }[] = [];
  await build({ context: ctx, root, jobs: 4, tags: ['par'], onEvent: (ev) => seen.push({ t: process.hrtime.bigint(), ev }) });
  const runStarts = new Map<number, bigint>();
  const runDones = new Map<number, bigint>();
  for (const { t, ev } of seen) {
    if (ev.type === 'step-start' && ev.instruction.startsWith('RUN sleep')) runStarts.set(ev.stage, t);
    if (ev.type === 'step-done' && ev.step === 2 && runStarts.has(ev.stage) && ev.stage < 4) runDones.set(ev.stage, t);
  }
  assert.equal(runStarts.size, 4);
  assert.equal(runDones.size, 4);
  const lastStart = [...runStarts.values()].reduce((a, b) => (a > b ? a : b));
  const firstDone = [...runDones.values()].reduce((a, b) => (a < b ? a : b));
  assert.ok(lastStart < firstDone, 'every slow step started before any finished: the stages ran at the same time');
});

test('progress lines carry the stage name; a rebuild hits every step', () => {
  const r = tsbuildOk(['build', '--root', root, '--jobs', '4', '-t', 'par', ctx]);
  for (const name of ['a', 'b', 'c', 'd']) assert.match(r.stderr, new RegExp(`^\\[\\d/5 ${name}\\] STEP 2/2: RUN sleep 2`, 'm'));
  const steps = outcomes(r.stderr);
  assert.equal(steps.length, 8);
  assert.ok(steps.every((s) => s.cached), r.stderr);
  // The final stage's COPY --from lines too.
  assert.match(r.stderr, /^\[5\/5\] STEP 2\/5: COPY --from=a \/out \/a$/m);
});
