// ADD of large sources streams: a 384 MiB archive member and a 384 MiB download are built with a
// peak RSS well under the size (they used to be held in memory whole, twice), their content reaches
// the layer intact (checked with GNU tar, an independent reader), and the step's scratch directory
// is gone afterwards, also after Ctrl-C. An archive that would not fit in the store's free space
// is refused from its header, before anything is written.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CLI, TempDir } from '../helpers/cli.js';
import { ustarHeader } from '../helpers/registry-image.js';
import { findProcesses } from '../helpers/native-rootfs.js';

const BIG = 384 << 20;
/** The bound for any workload; holding the 384 MiB member once already exceeds it. */
const RSS_LIMIT_MIB = 300;

let tmp: TempDir;
let root: string;
let zerosDigest: string;

before(() => {
  tmp = new TempDir();
  root = tmp.dir('store');
  const h = createHash('sha256');
  const mib = Buffer.alloc(1 << 20);
  for (let i = 0; i < BIG >> 20; i++) h.update(mib);
  zerosDigest = h.digest('hex');
});
after(() => tmp.cleanup());

interface Measured {
  status: number;
  stderr: string;
  maxRssMiB: number;
}

/** `tsbuild args` under GNU time (its peak RSS), without blocking this process (it may serve HTTP). */
function measured(args: string[], opts: { onStart?: (pid: number) => void; env?: NodeJS.ProcessEnv } = {}): Promise<Measured> {
  return new Promise((resolve, reject) => {
    // A process group of its own: Ctrl-C is sent to the group, as a terminal does.
    const child = spawn('/usr/bin/time', ['-f', 'maxrss-kib=%M', process.execPath, CLI, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    if (opts.onStart && child.pid) opts.onStart(child.pid);
    child.on('close', (code) => {
      const m = /maxrss-kib=(\d+)/.exec(stderr);
      resolve({ status: code ?? -1, stderr, maxRssMiB: m ? Number(m[1]) / 1024 : NaN });
    });
  });
}

/** sha256 and size of `member` in the image's top layer, read by GNU tar from an OCI export. */
function topLayerMember(tag: string, member: string): { digest: string; size: number } {
  const layout = join(tmp.path, `export-${tag}`);
  execFileSync(process.execPath, [CLI, 'push', '--root', root, tag, `oci:${layout}:x`]);
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const blob = (d: string) => join(layout, 'blobs', ...d.split(':'));
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), 'utf8'));
  const layer = blob(manifest.layers[manifest.layers.length - 1].digest);
  const out = execFileSync('bash', ['-c', 'set -o pipefail; tar -xzOf "$1" "$2" | tee >(wc -c >&2) | sha256sum', 'x', layer, member], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const size = Number(execFileSync('bash', ['-c', 'tar -tvzf "$1" "$2"', 'x', layer, member], { encoding: 'utf8' }).split(/\s+/)[2]);
  return { digest: out.split(' ')[0], size };
}

function scratchLeft(storeRoot = root): string[] {
  const dir = join(storeRoot, 'tmp');
  return existsSync(dir) ? readdirSync(dir) : [];
}

test('ADD of a 384 MiB archive member streams it to the layer', { timeout: 300_000 }, async () => {
  const ctx = tmp.dir('ctx-archive');
  const payload = tmp.dir('payload');
  execFileSync('truncate', ['-s', String(BIG), join(payload, 'big')]);
  writeFileSync(join(payload, 'small.txt'), 'small\n');
  execFileSync('tar', ['-I', 'pigz -1', '-C', payload, '-cf', join(ctx, 'data.tar.gz'), 'big', 'small.txt']);
  writeFileSync(join(ctx, 'Containerfile'), 'FROM scratch\nADD data.tar.gz /x/\n');
  const r = await measured(['build', '--root', root, '-t', 'add-big-archive', ctx]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.maxRssMiB < RSS_LIMIT_MIB, `peak RSS ${r.maxRssMiB.toFixed(0)} MiB for a ${BIG >> 20} MiB member`);
  assert.deepEqual(topLayerMember('add-big-archive', 'x/big'), { digest: zerosDigest, size: BIG });
  assert.deepEqual(scratchLeft(), [], 'the scratch directory is removed');
});

/** A server sending `size` zero bytes in 1 MiB writes, optionally pausing after the first. */
async function zeroServer(size: number, opts: { stallAfterFirst?: boolean } = {}): Promise<{ server: Server; url: string }> {
  const server = createServer((_rq, rs) => {
    rs.writeHead(200, { 'content-length': String(size) });
    const mib = Buffer.alloc(1 << 20);
    let sent = 0;
    const more = () => {
      while (sent < size) {
        const n = Math.min(mib.length, size - sent);
        sent += n;
        const ok = rs.write(n === mib.length ? mib : mib.subarray(0, n));
        if (opts.stallAfterFirst) return; // never more: the client waits until it is interrupted
        if (!ok) return void rs.once('drain', more);
      }
      rs.end();
    };
    more();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/payload.bin` };
}

test('ADD of a 384 MiB URL streams the download to the layer', { timeout: 300_000 }, async () => {
  const { server, url } = await zeroServer(BIG);
  try {
    const ctx = tmp.dir('ctx-url');
    writeFileSync(join(ctx, 'Containerfile'), `FROM scratch\nADD ${url} /x/\n`);
    const r = await measured(['build', '--root', root, '-t', 'add-big-url', ctx]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.maxRssMiB < RSS_LIMIT_MIB, `peak RSS ${r.maxRssMiB.toFixed(0)} MiB for a ${BIG >> 20} MiB download`);
    assert.deepEqual(topLayerMember('add-big-url', 'x/payload.bin'), { digest: zerosDigest, size: BIG });
    assert.deepEqual(scratchLeft(), []);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('Ctrl-C during an ADD download leaves no scratch file', { timeout: 120_000 }, async () => {
  const { server, url } = await zeroServer(BIG, { stallAfterFirst: true });
  try {
    const ctx = tmp.dir('ctx-url-int');
    writeFileSync(join(ctx, 'Containerfile'), `FROM scratch\nADD ${url} /x/\n`);
    let pid = 0;
    const done = measured(['build', '--root', root, '--progress=plain', ctx], { onStart: (p) => (pid = p) });
    // Wait until the download has begun writing into a scratch directory.
    const deadline = Date.now() + 60_000;
    const downloading = () => scratchLeft().some((d) => existsSync(join(root, 'tmp', d, 'f0')));
    while (!downloading() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(downloading(), 'the download started');
    process.kill(-pid, 'SIGINT'); // the whole group, as Ctrl-C in a terminal (GNU time ignores it)
    const r = await done;
    assert.equal(r.status, 130, r.stderr);
    assert.match(r.stderr, /^Error: interrupted$/m);
    assert.deepEqual(scratchLeft(), [], 'the scratch directory is removed on Ctrl-C');
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('an archive larger than the store has free is refused from its header', { timeout: 120_000, skip: process.getuid?.() !== 0 && 'needs root to mount a small tmpfs' }, async () => {
  const small = tmp.dir('small-store');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tsbuild-test', small]);
  try {
    // A tar header declaring a 128 MiB member, then only 1 MiB of its data: nothing past the
    // header may be needed to refuse it.
    const header = ustarHeader('huge', 128 << 20);
    const ctx = tmp.dir('ctx-huge');
    writeFileSync(join(ctx, 'huge.tar.gz'), gzipSync(Buffer.concat([header, Buffer.alloc(1 << 20)])));
    writeFileSync(join(ctx, 'Containerfile'), 'FROM scratch\nADD huge.tar.gz /x/\n');
    const r = await measured(['build', '--root', small, ctx], { env: { TSBUILD_ADD_MAX_BYTES: '' } });
    assert.equal(r.status, 1, r.stderr);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('Error:'));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0], /Containerfile:2: ADD failed: archive "huge.tar.gz" expands to more than \d+ bytes \(the bytes free in the build store; free some space/);
    assert.deepEqual(scratchLeft(small), []);
  } finally {
    execFileSync('umount', [small]);
  }
});

test('an archive ADD that cannot go where it is told stops its decompressor and exits', { timeout: 120_000 }, async () => {
  // The destination is a file: refused before any member is read, with the xz process still
  // feeding a pipe nobody reads (it kept the command from ever exiting).
  const ctx = tmp.dir('ctx-nondir');
  const payload = tmp.dir('payload-nondir');
  execFileSync('truncate', ['-s', String(16 << 20), join(payload, 'zeros')]);
  execFileSync('tar', ['-J', '-C', payload, '-cf', join(ctx, 'a.tar.xz'), 'zeros']);
  writeFileSync(join(ctx, 'f'), 'a file\n');
  writeFileSync(join(ctx, 'Containerfile'), 'FROM scratch\nCOPY f /f\nADD a.tar.xz /f\n');
  const r = await measured(['build', '--root', root, ctx]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^Error: Containerfile:3: cannot copy to non-directory: \/f$/m);
  assert.deepEqual(findProcesses('xz', '-dc'), [], 'no decompressor left running');
  assert.deepEqual(scratchLeft(), []);
});

test('Ctrl-C while a large archive member is being unpacked stops it at once', { timeout: 120_000 }, async () => {
  const ctx = tmp.dir('ctx-unpack-int');
  const payload = tmp.dir('payload-unpack-int');
  execFileSync('truncate', ['-s', '3G', join(payload, 'huge')]);
  execFileSync('tar', ['-I', 'pigz -1', '-C', payload, '-cf', join(ctx, 'huge.tar.gz'), 'huge']);
  writeFileSync(join(ctx, 'Containerfile'), 'FROM scratch\nADD huge.tar.gz /x/\n');
  let pid = 0;
  const done = measured(['build', '--root', root, ctx], { onStart: (p) => (pid = p) });
  const deadline = Date.now() + 60_000;
  const unpacking = () => scratchLeft().some((d) => existsSync(join(root, 'tmp', d, 'f0')));
  while (!unpacking() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(unpacking(), 'the member is being spooled');
  process.kill(-pid, 'SIGINT');
  const r = await done;
  assert.equal(r.status, 130, r.stderr);
  assert.match(r.stderr, /^Error: interrupted$/m);
  assert.deepEqual(scratchLeft(), []);
});
