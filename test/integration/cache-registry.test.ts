// Registry cache for fleets of short-lived CI workers: a build on one fresh root pushes its cache
// with --cache-to; a build on another fresh root with --cache-from runs no step (RUN steps write
// `date +%s%N`, so a step that ran would change its layer), produces the same image digest, and
// fetches only the layers the final image is made of (not the builder stage's).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tsbuildAsync, tsbuildOk, TempDir, lastLine } from '../helpers/cli.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { diffIds, outcomes } from './cache-helpers.js';

const CONTAINERFILE = `FROM busybox AS builder
RUN date +%s%N > /built && dd if=/dev/zero of=/big bs=1k count=64 2>/dev/null
FROM busybox
ARG VERSION=1
COPY --from=builder /built /built
COPY app.txt /app.txt
RUN date +%s%N > /stamp && echo $VERSION > /version
`;

let tmp: TempDir;
let busybox: BusyboxImage;
let reg: RegistryServer;
let ctx: string;

before(async () => {
  tmp = new TempDir();
  busybox = makeBusyboxImage();
  reg = await startRegistry();
  tmp.file('ctx/Containerfile', CONTAINERFILE);
  tmp.file('ctx/app.txt', 'app\n');
  ctx = join(tmp.path, 'ctx');
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

async function buildIn(root: string, extra: string[]) {
  // Async: the registry helper serves from this process's children, but keep the event loop free anyway.
  const r = await tsbuildAsync(['build', '--root', root, '--tls-verify=false', '-t', 'app', ...extra, ctx]);
  assert.equal(r.status, 0, r.stderr);
  const inspect = JSON.parse(tsbuildOk(['inspect', '--root', root, 'app']).stdout) as { Digest: string };
  return { id: lastLine(r.stdout), digest: inspect.Digest, stderr: r.stderr, steps: outcomes(r.stderr) };
}

test('two fresh roots share a registry cache: the second runs nothing and makes the same image', async () => {
  const cacheRef = `${reg.host}/ci/cache:main`;
  const a = await buildIn(freshRoot('root-a'), ['--cache-to', cacheRef]);
  assert.ok(a.steps.every((s) => !s.cached));
  assert.match(a.stderr, /Exported \d+ cache entries \(4 layers\)/);

  const rootB = freshRoot('root-b');
  const b = await buildIn(rootB, ['--cache-from', cacheRef]);
  assert.equal(b.steps.length, 5);
  for (const s of b.steps) assert.equal(s.cached, true, `${s.instruction} must come from the cache`);
  assert.equal(b.digest, a.digest, 'same manifest digest');
  assert.equal(b.id, a.id, 'same image ID');
  assert.deepEqual(diffIds(rootB, 'app'), diffIds(join(tmp.path, 'root-a'), 'app'));

  // The builder stage's layer is not part of the image: it was never fetched.
  const exported = JSON.parse(tsbuildOk(['inspect', '--root', join(tmp.path, 'root-a'), '--type', 'manifest', 'app']).stdout) as { layers: { digest: string }[] };
  const finalLayers = new Set(exported.layers.map((l) => l.digest));
  const blobsB = (d: string) => existsSync(join(rootB, 'blobs', 'sha256', d.slice(7)));
  for (const d of finalLayers) assert.ok(blobsB(d), `final layer ${d} fetched`);
  const cacheManifest = JSON.parse(await (await fetch(`http://${reg.host}/v2/ci/cache/manifests/main`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).text()) as { layers: { digest: string }[] };
  const notNeeded = cacheManifest.layers.map((l) => l.digest).filter((d) => !finalLayers.has(d));
  assert.equal(notNeeded.length, 1, 'the builder RUN layer');
  assert.equal(blobsB(notNeeded[0]!), false, 'the builder stage layer was not downloaded');

  // A changed build arg on the second machine: only the step that uses it runs.
  const c = await buildIn(rootB, ['--cache-from', cacheRef, '--build-arg', 'VERSION=2']);
  assert.deepEqual(c.steps.map((s) => s.cached), [true, true, true, true, false]);
  assert.equal(c.steps[4]!.reason, 'build arg VERSION changed');
});

test('a missing cache only warns; oci: layouts work as caches too', async () => {
  const root = freshRoot('root-c');
  const r = await buildIn(root, ['--cache-from', `${reg.host}/ci/nothing:here`, '--cache-to', `oci:${join(tmp.path, 'cache-layout')}:c`]);
  assert.match(r.stderr, /WARN: cannot read the build cache from/);
  const d = await buildIn(freshRoot('root-d'), ['--cache-from', `oci:${join(tmp.path, 'cache-layout')}:c`]);
  assert.ok(d.steps.every((s) => s.cached));
  assert.equal(d.digest, r.digest);
});
