// The progress renderers fed a fixed event sequence: plain lines (the CI log format), the json
// stream, and the live tty region (its frame contents and the failure dump).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProgressEvent } from '../../builder/events.js';
import { createProgress, plainProgress } from '../../cli/progress.js';
import { formatDuration, terminalSafe } from '../../cli/progress-format.js';

const EVENTS: ProgressEvent[] = [
  { type: 'plan', stages: 1, totalStages: 1 },
  { type: 'stage-start', stage: 0, base: 'busybox' },
  { type: 'step-start', stage: 0, stageOrdinal: 1, step: 1, steps: 3, instruction: 'FROM busybox', line: 1 },
  { type: 'step-done', stage: 0, step: 1, durationMs: 0, cached: false },
  { type: 'step-start', stage: 0, stageOrdinal: 1, step: 2, steps: 3, instruction: 'COPY a.txt /a.txt', line: 2 },
  { type: 'step-cache', stage: 0, step: 2, cached: true, key: 'sha256:k2' },
  { type: 'step-done', stage: 0, step: 2, durationMs: 3, cached: true },
  { type: 'step-start', stage: 0, stageOrdinal: 1, step: 3, steps: 3, instruction: 'RUN npm ci', line: 3 },
  { type: 'step-cache', stage: 0, step: 3, cached: false, key: 'sha256:k3', reason: 'not in cache' },
  { type: 'output', stage: 0, step: 3, stream: 'stdout', text: 'added 3 packages\n' },
  { type: 'output', stage: 0, step: 3, stream: 'stderr', text: 'no newline at the end' },
  { type: 'step-done', stage: 0, step: 3, durationMs: 12_345, cached: false },
  { type: 'image', id: 'abc', names: ['localhost/app:latest'], manifestDigest: 'sha256:m' },
];

test('plain: STEP lines, verdicts, full output, a duration line per step that ran', () => {
  let out = '';
  const render = plainProgress({ quiet: false, write: (s) => (out += s) });
  for (const ev of EVENTS) render(ev);
  assert.equal(
    out,
    [
      'STEP 1/3: FROM busybox',
      'STEP 2/3: COPY a.txt /a.txt',
      '--> CACHED',
      'STEP 3/3: RUN npm ci',
      '--> RUN npm ...: not in cache',
      'added 3 packages',
      'no newline at the end',
      '[3/3] RUN npm ci ... 12.3s',
      'COMMIT localhost/app:latest',
      '',
    ].join('\n'),
  );
});

test('plain, multi-stage: stage prefixes on STEP and output lines; one bracket on duration lines', () => {
  let out = '';
  const render = plainProgress({ quiet: false, write: (s) => (out += s) });
  const events: ProgressEvent[] = [
    { type: 'plan', stages: 2, totalStages: 2 },
    { type: 'step-start', stage: 0, stageName: 'builder', stageOrdinal: 1, step: 2, steps: 2, instruction: 'RUN make', line: 2 },
    { type: 'step-cache', stage: 0, step: 2, cached: false, key: 'k1', reason: 'not in cache' },
    { type: 'output', stage: 0, step: 2, stream: 'stdout', text: 'built\n' },
    { type: 'step-done', stage: 0, step: 2, durationMs: 1_200, cached: false },
    { type: 'step-start', stage: 1, stageOrdinal: 2, step: 3, steps: 3, instruction: 'CMD ["/app"]', line: 5 },
    { type: 'step-cache', stage: 1, step: 3, cached: false, key: 'k2', reason: 'not in cache' },
    { type: 'step-done', stage: 1, step: 3, durationMs: 0, cached: false },
  ];
  for (const ev of events) render(ev);
  assert.deepEqual(out.split('\n').filter((l) => l.includes('...') || l.includes('built')), [
    '[1/2 builder] built',
    '[builder 2/2] RUN make ... 1.2s',
    '[stage-2 3/3] CMD ["/app"] ... 0.0s',
  ]);
});

test('plain: long output is never clipped', () => {
  let out = '';
  const render = plainProgress({ quiet: false, write: (s) => (out += s) });
  const long = 'x'.repeat(100_000);
  render({ type: 'output', stage: 0, step: 2, stream: 'stdout', text: long + '\n' });
  assert.equal(out, long + '\n');
});

test('plain quiet: warnings only', () => {
  let out = '';
  const render = plainProgress({ quiet: true, write: (s) => (out += s) });
  for (const ev of EVENTS) render(ev);
  render({ type: 'warning', message: 'careful' });
  assert.equal(out, 'WARN: careful\n');
});

test('json: one parseable object per event, in order, then an error object on failure', () => {
  let out = '';
  const p = createProgress({ mode: 'json', stream: { write: (s: string) => (out += s) } });
  for (const ev of EVENTS) p.event(ev);
  p.close(new Error('boom'));
  const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; time: string });
  assert.deepEqual(lines.map((l) => l.type), [...EVENTS.map((e) => e.type), 'error']);
  for (const l of lines) assert.ok(!Number.isNaN(Date.parse(l.time)));
});

test('auto is plain when stderr is not a terminal', () => {
  let out = '';
  const p = createProgress({ mode: 'auto', stream: { write: (s: string) => (out += s), isTTY: false } });
  for (const ev of EVENTS) p.event(ev);
  p.close();
  assert.match(out, /^STEP 1\/3: FROM busybox$/m);
  assert.doesNotMatch(out, /\x1b\[/);
});

test('tty: a running step shows a spinner line and its latest output; failure prints the whole output', () => {
  let out = '';
  const p = createProgress({ mode: 'tty', stream: { write: (s: string) => (out += s), isTTY: true, columns: 90 } });
  p.event(EVENTS[0]!);
  p.event({ type: 'step-start', stage: 0, stageOrdinal: 1, step: 2, steps: 2, instruction: 'RUN make', line: 2 });
  for (let i = 1; i <= 20; i++) p.event({ type: 'output', stage: 0, step: 2, stream: 'stdout', text: `line ${i}\n` });
  p.event({ type: 'blob', phase: 'started', digest: 'sha256:0123456789abcdef', size: 1000, bytes: 0, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' });
  p.event({ type: 'blob', phase: 'progress', digest: 'sha256:0123456789abcdef', size: 1000, bytes: 500, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' });
  p.message('redraw');
  const frame = out.slice(out.lastIndexOf('redraw'));
  assert.match(frame, /\[2\/2\] RUN make/);
  assert.match(frame, /line 20/);
  assert.doesNotMatch(frame, /line 10\n/, 'only the last lines of a running step are live');
  assert.match(frame, /layer 0123456789ab \[=+>? *\] 500 B \/ 1.00 kB/);
  // No drawn line may be wider than the terminal (a wrapped line breaks the redraw).
  // eslint-disable-next-line no-control-regex
  for (const l of frame.split('\n')) assert.ok(l.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').length <= 90, l);
  p.close(new Error('failed'));
  const dump = out.slice(out.lastIndexOf('✘'));
  for (let i = 1; i <= 20; i++) assert.match(dump, new RegExp(`line ${i}\\n`));
  assert.ok(out.endsWith('\x1b[?25h'), 'the cursor is shown again');
});

test('format helpers', () => {
  assert.equal(formatDuration(12_345), '12.3s');
  assert.equal(formatDuration(125_000), '2m05s');
  assert.equal(terminalSafe('50%\r100%\x1b[31m red\x1b[0m\x07'), '100% red');
});
