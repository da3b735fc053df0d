// Crash safety: the CLI is SIGKILLed at random moments of build, pull and push (a few iterations
// here; TSBUILD_CRASH_ITERATIONS=N, or scripts/crash-loop.sh for ≥20). After every kill:
// `tsbuild check-store` (every blob re-hashed, every reference followed) reports nothing, no
// mount or temp leftover of the dead process remains, nothing corrupt was pushed, and the next
// build succeeds and gives the same image as an undisturbed one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, TempDir, tsbuild, tsbuildOk, lastLine } from '../helpers/cli.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';
import { Rng } from '../fuzz/mutate.js';

const ITERATIONS = Number(process.env.TSBUILD_CRASH_ITERATIONS ?? 3);
const SEED = Number(process.env.TSBUILD_CRASH_SEED ?? Date.now() % 100_000);
const rng = new Rng(SEED);

let tmp: TempDir;
let busybox: BusyboxImage;
let ctx: string;

before(() => {
  tmp = new TempDir();
  busybox = makeBusyboxImage();
  ctx = tmp.dir('ctx');
  // Enough work that kills land in the middle of things: several layers, a few MB, a RUN.
  for (let i = 0; i < 6; i++) tmp.file(`ctx/data/f${i}.bin`, Buffer.alloc(512 * 1024, i + 1));
  tmp.file('ctx/Containerfile', [
    'FROM busybox',
    'COPY data/ /data/',
    'RUN dd if=/dev/urandom of=/big bs=64k count=32 2>/dev/null && sha256sum /data/* > /sums && rm /big',
    'RUN mkdir -p /a/b/c && for i in 1 2 3 4 5 6 7 8 9; do echo $i > /a/b/c/$i; done',
    'COPY Containerfile /Containerfile',
    'CMD ["sh"]',
    '',
  ].join('\n'));
});
after(() => {
  busybox?.cleanup();
  tmp?.cleanup();
});

/** Runs the CLI and SIGKILLs it after `ms` (if still running); resolves with how it ended. */
function killAfter(args: string[], ms: number): Promise<{ killed: boolean; status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let killed = false;
    const t = setTimeout(() => {
      killed = child.exitCode === null;
      child.kill('SIGKILL');
    }, ms);
    child.on('close', (status) => {
      clearTimeout(t);
      resolve({ killed, status, stderr });
    });
  });
}

function checkStoreClean(root: string, why: string): void {
  const r = tsbuild(['check-store', '--root', root]);
  assert.equal(r.status, 0, `check-store after ${why}:\n${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, '', why);
}

async function noMountsLeft(root: string, why: string): Promise<void> {
  // The runtime helper notices its parent's death (PDEATHSIG) and unmounts; give it a moment.
  for (let i = 0; i < 50; i++) {
    if (!readFileSync('/proc/self/mountinfo', 'utf8').includes(root)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`mounts below ${root} remain after ${why}`);
}

function timed(args: string[]): { ms: number; out: string } {
  const t = Date.now();
  const r = tsbuildOk(args);
  return { ms: Date.now() - t, out: r.stdout };
}

test(`SIGKILL during build (${ITERATIONS}x, seed ${SEED}): store stays whole, next build succeeds and matches`, { timeout: 120_000 + ITERATIONS * 90_000 }, async () => {
  const ref = tmp.dir('ref-store');
  tsbuildOk(['pull', '--root', ref, `docker-archive:${busybox.dockerArchive}`]);
  const full = timed(['build', '--root', ref, '--timestamp', '0', '-t', 'crash', ctx]);
  const want = lastLine(full.out);
  const root = tmp.dir('build-store');
  tsbuildOk(['pull', '--root', root, `docker-archive:${busybox.dockerArchive}`]);
  for (let i = 0; i < ITERATIONS; i++) {
    const ms = 50 + rng.int(Math.max(100, full.ms));
    const r = await killAfter(['build', '--root', root, '--timestamp', '0', '-t', 'crash', ctx], ms);
    const why = `build killed after ${ms} ms (iteration ${i}, seed ${SEED})`;
    if (!r.killed) assert.equal(r.status, 0, r.stderr);
    await noMountsLeft(root, why);
    checkStoreClean(root, why);
  }
  const again = tsbuildOk(['build', '--root', root, '--timestamp', '0', '-t', 'crash', ctx]);
  assert.equal(lastLine(again.stdout), want, 'the image after crashes equals an undisturbed build');
  checkStoreClean(root, 'the final build');
  assert.deepEqual(readdirSync(join(root, 'tmp')), [], 'no temp leftovers');
});

test(`SIGKILL during pull (${ITERATIONS}x): store stays whole, the next pull succeeds`, { timeout: 60_000 + ITERATIONS * 60_000 }, async () => {
  const probe = tmp.dir('pull-probe');
  const full = timed(['pull', '--root', probe, `docker-archive:${busybox.dockerArchive}`]);
  for (let i = 0; i < ITERATIONS; i++) {
    const root = tmp.dir(`pull-store-${i}`);
    const ms = 20 + rng.int(Math.max(50, full.ms));
    const r = await killAfter(['pull', '--root', root, `docker-archive:${busybox.dockerArchive}`], ms);
    const why = `pull killed after ${ms} ms (iteration ${i}, seed ${SEED})`;
    if (!r.killed) assert.equal(r.status, 0, r.stderr);
    checkStoreClean(root, why);
    const again = tsbuildOk(['pull', '--root', root, `docker-archive:${busybox.dockerArchive}`]);
    assert.equal(lastLine(again.stdout), lastLine(full.out), why);
    checkStoreClean(root, `pull after ${why}`);
  }
});

/** Every blob in an OCI layout hashes to its name; index.json, when present, parses. */
function layoutWhole(dir: string, why: string): void {
  const blobs = join(dir, 'blobs/sha256');
  if (existsSync(blobs)) {
    for (const name of readdirSync(blobs)) {
      // A killed push leaves its `.tmp-<digest>-<random>` file (registry/files.ts writes next to the
      // target, then renames): garbage, but never visible under a digest name, so not corruption.
      if (!/^[a-f0-9]{64}$/.test(name)) continue;
      const got = createHash('sha256').update(readFileSync(join(blobs, name))).digest('hex');
      assert.equal(got, name, `pushed blob ${name} is corrupt after ${why}`);
    }
  }
  if (existsSync(join(dir, 'index.json'))) JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
}

test(`SIGKILL during push (${ITERATIONS}x): nothing corrupt is pushed, the next push succeeds`, { timeout: 120_000 + ITERATIONS * 60_000 }, async () => {
  const root = tmp.dir('push-store');
  tsbuildOk(['pull', '--root', root, `docker-archive:${busybox.dockerArchive}`]);
  tsbuildOk(['build', '--root', root, '-t', 'pushme', ctx]);
  const probe = join(tmp.dir('push-probe'), 'layout');
  const full = timed(['push', '--root', root, 'pushme', `oci:${probe}:x`]);
  for (let i = 0; i < ITERATIONS; i++) {
    const dest = join(tmp.dir(`push-dest-${i}`), 'layout');
    const archive = join(tmp.path, `push-${i}.tar`);
    const ms = 20 + rng.int(Math.max(50, full.ms));
    const why = `push killed after ${ms} ms (iteration ${i}, seed ${SEED})`;
    const r = await killAfter(['push', '--root', root, 'pushme', `oci:${dest}:x`], ms);
    if (!r.killed) assert.equal(r.status, 0, r.stderr);
    layoutWhole(dest, why);
    const r2 = await killAfter(['push', '--root', root, 'pushme', `oci-archive:${archive}`], ms);
    if (!r2.killed) assert.equal(r2.status, 0, r2.stderr);
    checkStoreClean(root, why);
    tsbuildOk(['push', '--root', root, 'pushme', `oci:${dest}:x`]);
    layoutWhole(dest, `push after ${why}`);
    tsbuildOk(['push', '--root', root, 'pushme', `oci-archive:${archive}`]);
    // The archive a completed push leaves is a whole tar that pulls back to the same image.
    const back = tmp.dir(`push-back-${i}`);
    tsbuildOk(['pull', '--root', back, `oci-archive:${archive}`]);
    checkStoreClean(back, `pull of the archive after ${why}`);
  }
  writeFileSync(join(tmp.path, 'done'), '');
});
