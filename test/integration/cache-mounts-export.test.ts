// RUN --mount=type=cache contents through the registry cache: build A fills cache mount "c" and
// pushes it with --cache-to; on a fresh root, build B (a different step, so no step-level hit) sees
// A's file with --cache-from and does not without it. Also: owners kept (as root), a fully cached
// build carries the mount forward into its own --cache-to, and the size limit skips with a warning.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tsbuildAsync, tsbuildOk, TempDir } from '../helpers/cli.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { outcomes } from './cache-helpers.js';

const asRoot = (process.getuid?.() ?? 0) === 0;

const A = `FROM busybox
RUN --mount=type=cache,target=/cache,id=c sh -c 'ls /cache/seen 2>/dev/null || touch /cache/seen-by-first; mkdir -p /cache/sub && echo payload > /cache/sub/f && chown 1234:5678 /cache/sub/f && echo A-ran'
`;
const B = `FROM busybox
RUN --mount=type=cache,target=/cache,id=c sh -c 'if [ -e /cache/seen-by-first ]; then echo "MOUNT=seen"; else echo "MOUNT=empty"; fi; echo "OWNER=$(stat -c %u:%g /cache/sub/f 2>/dev/null)"; echo "DATA=$(cat /cache/sub/f 2>/dev/null)"'
`;

let tmp: TempDir;
let busybox: BusyboxImage;
let reg: RegistryServer;

before(async () => {
  tmp = new TempDir();
  busybox = makeBusyboxImage();
  reg = await startRegistry();
  tmp.file('a/Containerfile', A);
  tmp.file('b/Containerfile', B);
});
after(async () => {
  await reg?.stop();
  busybox?.cleanup();
  tmp?.cleanup();
});

function freshRoot(name: string): string {
  const root = join(tmp.path, name);
  tsbuildOk(['pull', '--root', root, `docker-archive:${busybox.dockerArchive}`]);
  return root;
}

async function build(root: string, ctx: string, extra: string[], env?: NodeJS.ProcessEnv) {
  const r = await tsbuildAsync(['build', '--root', root, '--tls-verify=false', ...extra, join(tmp.path, ctx)], { env });
  assert.equal(r.status, 0, r.stderr);
  return { stderr: r.stderr, steps: outcomes(r.stderr) };
}

interface CacheConfig { 'dev.tsbuild.cache': { mounts?: { id: string; layer: { digest: string; diffID: string } }[] } }

async function cacheConfig(repo: string, tag: string): Promise<{ config: CacheConfig; layers: string[] }> {
  const base = `http://${reg.host}/v2/${repo}`;
  const m = (await (await fetch(`${base}/manifests/${tag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).json()) as { config: { digest: string }; layers: { digest: string }[] };
  const config = (await (await fetch(`${base}/blobs/${m.config.digest}`)).json()) as CacheConfig;
  return { config, layers: m.layers.map((l) => l.digest) };
}

test('cache mount contents travel through --cache-to / --cache-from', async () => {
  const ref = `${reg.host}/ci/mounts:main`;
  const a = await build(freshRoot('root-a'), 'a', ['--cache-to', ref]);
  assert.match(a.stderr, /^A-ran$/m);
  const { config, layers } = await cacheConfig('ci/mounts', 'main');
  const mounts = config['dev.tsbuild.cache'].mounts ?? [];
  assert.deepEqual(mounts.map((m) => m.id), ['c']);
  assert.ok(layers.includes(mounts[0]!.layer.digest), 'the mount layer is in the manifest');

  // A fresh root with --cache-from: B's step is not in the cache (different instruction), so it
  // runs, on a mount filled from A's export.
  const b = await build(freshRoot('root-b'), 'b', ['--cache-from', ref]);
  assert.equal(b.steps.length, 1);
  assert.equal(b.steps[0]!.cached, false);
  assert.match(b.stderr, /^MOUNT=seen$/m);
  assert.match(b.stderr, /^DATA=payload$/m);
  if (asRoot) assert.match(b.stderr, /^OWNER=1234:5678$/m, 'owners restored as root');

  // The same on a fresh root without --cache-from: the mount starts empty.
  const c = await build(freshRoot('root-c'), 'b', []);
  assert.match(c.stderr, /^MOUNT=empty$/m);
  assert.match(c.stderr, /^DATA=$/m);

  // A fully cached build (A's step hits, no RUN uses the mount) still exports the mount it imported.
  const d = await build(freshRoot('root-d'), 'a', ['--cache-from', ref, '--cache-to', `${reg.host}/ci/mounts:again`]);
  assert.ok(d.steps.every((s) => s.cached));
  assert.doesNotMatch(d.stderr, /^A-ran$/m);
  const again = await cacheConfig('ci/mounts', 'again');
  assert.deepEqual(again.config['dev.tsbuild.cache'].mounts, mounts, 'carried forward unchanged');

  // Local content wins: a mount that already has files is not touched by an import.
  tmp.file('local/Containerfile', 'FROM busybox\nRUN --mount=type=cache,target=/cache,id=c touch /cache/local-only\n');
  tmp.file('b2/Containerfile', B.replace("sh -c '", "sh -c 'echo B2; "));
  await build(join(tmp.path, 'root-c'), 'local', []);
  const e = await build(join(tmp.path, 'root-c'), 'b2', ['--cache-from', ref]);
  assert.match(e.stderr, /^B2$/m);
  assert.match(e.stderr, /^MOUNT=empty$/m);
});

test('a cache mount over the size limit is not exported, with a warning', async () => {
  const ref = `${reg.host}/ci/mounts:small`;
  const r = await build(freshRoot('root-e'), 'a', ['--cache-to', ref], { TSBUILD_CACHE_MOUNT_MAX: '4' });
  assert.match(r.stderr, /cache mount "c": \d+ bytes is over the export limit of 4/);
  const { config } = await cacheConfig('ci/mounts', 'small');
  assert.equal(config['dev.tsbuild.cache'].mounts, undefined);
});
