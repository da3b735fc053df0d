// Progress output of real builds: the plain CI log (snapshot, timings masked), the json event
// stream (order and completeness), -q, --logfile, pull progress, and the tty display under a pty.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TempDir, tsbuild, tsbuildOk, lastLine, CLI } from '../helpers/cli.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';
import type { ProgressEvent } from '../../builder/events.js';

let tmp: TempDir;
let root: string;
let busybox: BusyboxImage;
let ctx: string;

before(() => {
  tmp = new TempDir();
  root = tmp.dir('store');
  busybox = makeBusyboxImage();
  tsbuildOk(['pull', '--root', root, `docker-archive:${busybox.dockerArchive}`]);
  ctx = tmp.dir('ctx');
  tmp.file('ctx/a.txt', 'hello\n');
  tmp.file('ctx/Containerfile', ['FROM busybox', 'COPY a.txt /a.txt', 'RUN echo one && echo two >&2', 'ENV X=1', ''].join('\n'));
});
after(() => {
  busybox?.cleanup();
  tmp?.cleanup();
});

const mask = (s: string) => s.replace(/\b\d+(\.\d+)?s$/gm, 'X.Xs').replace(/\b\d+m\d\ds$/gm, 'X.Xs');

test('plain progress: a snapshot of a first build and of the cached rebuild', () => {
  const first = tsbuildOk(['build', '--root', root, '--progress=plain', '-t', 'snap', ctx]);
  assert.equal(
    mask(first.stderr),
    [
      'STEP 1/4: FROM busybox',
      'STEP 2/4: COPY a.txt /a.txt',
      '--> COPY a.txt ...: not in cache',
      '[2/4] COPY a.txt /a.txt ... X.Xs',
      'STEP 3/4: RUN echo one && echo two >&2',
      '--> RUN echo ...: not in cache',
      'one',
      'two',
      '[3/4] RUN echo one && echo two >&2 ... X.Xs',
      'STEP 4/4: ENV X=1',
      '--> ENV X=1: not in cache',
      '[4/4] ENV X=1 ... X.Xs',
      'COMMIT localhost/snap:latest',
      '',
    ].join('\n'),
  );
  assert.match(first.stdout, /^[a-f0-9]{64}\n$/);
  const again = tsbuildOk(['build', '--root', root, '--progress=plain', '-t', 'snap', ctx]);
  assert.equal(
    again.stderr,
    ['STEP 1/4: FROM busybox', 'STEP 2/4: COPY a.txt /a.txt', '--> CACHED', 'STEP 3/4: RUN echo one && echo two >&2', '--> CACHED', 'STEP 4/4: ENV X=1', '--> CACHED', 'COMMIT localhost/snap:latest', ''].join('\n'),
  );
  assert.equal(again.stdout, first.stdout);
});

test('json progress: every line is an event; steps start, get a verdict, output and finish in order', () => {
  const r = tsbuildOk(['build', '--root', root, '--no-cache', '--progress=json', '-t', 'json', ctx]);
  const events = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as ProgressEvent & { time: string });
  assert.equal(events[0]!.type, 'plan');
  const image = events.at(-1)!;
  assert.equal(image.type, 'image');
  assert.equal(image.type === 'image' && image.id, lastLine(r.stdout));
  const open = new Map<string, string[]>();
  const done: number[] = [];
  let previousTime = 0;
  for (const ev of events) {
    const t = Date.parse(ev.time);
    assert.ok(t >= previousTime, 'times never go back');
    previousTime = t;
    if (!('step' in ev)) continue;
    const key = `${ev.stage}/${ev.step}`;
    if (ev.type === 'step-start') {
      assert.ok(!open.has(key), `${key} started twice`);
      open.set(key, []);
      continue;
    }
    const seen = open.get(key);
    assert.ok(seen, `${ev.type} for ${key} outside its step`);
    seen.push(ev.type);
    if (ev.type === 'step-done') {
      open.delete(key);
      done.push(ev.step);
      if (ev.step > 1) assert.equal(seen[0], 'step-cache', `step ${key} has its cache verdict first`);
    }
  }
  assert.equal(open.size, 0, 'every step finished');
  assert.deepEqual(done, [1, 2, 3, 4]);
  const output = events.filter((e) => e.type === 'output').map((e) => (e.type === 'output' ? `${e.stream}:${e.text}` : ''));
  assert.deepEqual(output.sort(), ['stderr:two\n', 'stdout:one\n']);
});

test('json progress on failure ends with an error event, and the exit status is the error one', () => {
  const bad = tmp.dir('bad');
  tmp.file('bad/Containerfile', 'FROM busybox\nRUN echo partial; exit 7\n');
  const r = tsbuild(['build', '--root', root, '--progress=json', bad]);
  assert.equal(r.status, 7);
  const lines = r.stderr.trim().split('\n');
  const json = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; message?: string });
  assert.equal(json.at(-1)!.type, 'error');
  assert.match(json.at(-1)!.message!, /exited with status 7/);
  assert.ok(json.some((e) => e.type === 'output'));
});

test('-q prints only the image ID; --logfile takes the progress off stderr', () => {
  const q = tsbuildOk(['build', '--root', root, '-q', '-t', 'quiet', ctx]);
  assert.match(q.stdout, /^[a-f0-9]{64}\n$/);
  assert.equal(q.stderr, '');
  const log = join(tmp.path, 'build.log');
  const l = tsbuildOk(['build', '--root', root, '--no-cache', '--logfile', log, '-t', 'logged', ctx]);
  assert.equal(l.stderr, '');
  const text = readFileSync(log, 'utf8');
  assert.match(text, /^STEP 3\/4: RUN echo one/m);
  assert.match(text, /^one$/m);
  assert.match(text, /^\[3\/4\] RUN echo one && echo two >&2 \.\.\. \d+\.\ds$/m);
});

test('pull progress: plain lines per blob and json blob events with byte counts', () => {
  const fresh = tmp.dir('fresh');
  const plain = tsbuildOk(['pull', '--root', fresh, '--progress=plain', `docker-archive:${busybox.dockerArchive}`]);
  assert.match(plain.stderr, /^Copying blob [0-9a-f]{12} done \(\d/m);
  assert.match(plain.stderr, /^Writing manifest sha256:/m);
  const fresh2 = tmp.dir('fresh2');
  const json = tsbuildOk(['pull', '--root', fresh2, '--progress=json', busybox.ociRef]);
  const blobs = json.stderr.trim().split('\n').map((l) => JSON.parse(l) as ProgressEvent).filter((e) => e.type === 'blob');
  const done = blobs.filter((b) => b.type === 'blob' && b.phase === 'done');
  assert.ok(done.length >= 1);
  for (const d of done) assert.ok(d.type === 'blob' && d.bytes > 0 && blobs.some((b) => b.type === 'blob' && b.phase === 'started' && b.digest === d.digest));
  assert.ok(done.some((d) => d.type === 'blob' && d.mediaType.includes('config')), 'the config blob is reported as well');
});

test('tty progress under a pseudo-terminal: finished steps with ✔ and durations, cursor restored', () => {
  // The step stays running for a while after its output, so frames (every 100 ms) show that output
  // however fast the machine is.
  const ttyCtx = tmp.dir('tty-ctx');
  tmp.file('tty-ctx/a.txt', 'a\n');
  tmp.file('tty-ctx/Containerfile', ['FROM busybox', 'COPY a.txt /a.txt', 'RUN echo one && echo two >&2 && sleep 1', 'ENV X=1', ''].join('\n'));
  const r = spawnSync('script', ['-qec', `${process.execPath} ${CLI} build --root ${root} --no-cache -t ttyapp ${ttyCtx}`, '/dev/null'], {
    encoding: 'utf8',
    env: { ...process.env, TERM: 'xterm', COLUMNS: '100' },
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stdout);
  // eslint-disable-next-line no-control-regex
  const text = r.stdout.replace(/\x1b\[[0-9;]*m/g, '');
  assert.match(text, /✔ \[3\/4\] RUN echo one && echo two >&2 && sleep 1 \d+\.\ds/);
  assert.match(text, /│ two/, 'the running step showed its output');
  assert.match(text, /✔ COMMIT localhost\/ttyapp:latest/);
  assert.ok(r.stdout.includes('\x1b[?25h'));
});
