// Registry faults under load: a bounded soak of real `tsbuild pull` / `tsbuild push` commands
// (docker://, --tls-verify=false, --retry) through a fault-injecting proxy on 127.0.0.1 in front of
// a real docker-registry. Random requests are reset before an answer, answered 500/502/503, answered
// slowly (a delay, then a trickle), cut mid-body, or get one byte flipped in the response or in the
// request body. Afterwards:
//  - every command ended in success (exit 0, nothing on stderr) or one clean error line (exit 1);
//  - nothing corrupt is stored: `tsbuild check-store` is clean for the shared store and every pull
//    store, and every successful pull holds the image ID of what was pulled;
//  - nothing corrupt is pushed: every tag in the registry (failed pushes included) resolves, through
//    skopeo straight to the registry, to the digest a clean push of its image gives; every blob
//    file in the registry's storage hashes to its name; every --digestfile holds that digest.
// TSBUILD_SOAK_OPS (default 40), TSBUILD_SOAK_SECONDS (default 20: no new command starts after),
// TSBUILD_SOAK_JOBS (4), TSBUILD_SOAK_FAULT_RATE (0.1 per request), TSBUILD_SOAK_SEED;
// scripts/registry-soak.sh runs the long version.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { lastLine, tsbuildAsync, type CliResult } from '../helpers/cli.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { startFaultProxy, type Fault, type FaultProxy, type SeenRequest } from '../helpers/registry-faults.js';
import { makeTestImage, writeOciLayout, type TestImage } from '../helpers/registry-image.js';

const run = promisify(execFile);
const env = (k: string, d: number) => (process.env[k] !== undefined && process.env[k] !== '' ? Number(process.env[k]) : d);
const OPS = env('TSBUILD_SOAK_OPS', 40);
const SECONDS = env('TSBUILD_SOAK_SECONDS', 20);
const JOBS = env('TSBUILD_SOAK_JOBS', 4);
const FAULT_RATE = env('TSBUILD_SOAK_FAULT_RATE', 0.1);
const SEED = env('TSBUILD_SOAK_SEED', Math.floor(Math.random() * 2 ** 31));
const RETRY = ['--retry', '3'];

/** mulberry32: a small seeded PRNG, so a failing soak can be replayed (modulo timing). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

interface Source {
  /** image ID (config digest) tsbuild gives it */
  id: string;
  /** manifest digest of a clean push */
  digest: string;
}
interface Op {
  n: number;
  kind: 'push' | 'pull';
  ref: string;
  store?: string;
  image: number;
  result: CliResult;
  ms: number;
  digest?: string;
}

let work: string;
let reg: RegistryServer;
let proxy: FaultProxy;
let root: string;
const pushSources: Source[] = [];
const seeds: Source[] = [];
const ops: Op[] = [];
let elapsed = 0;

// Which faults fit which request; within each class the kinds take turns (with random parameters),
// so every kind shows up even in a short soak.
const KINDS = ['reset', 'status', 'slow', 'drop', 'flip', 'flip-up'] as const;
const CLASSES = {
  /** GETs with a body worth cutting or corrupting: manifests and blobs */
  body: ['drop', 'flip', 'reset', 'status', 'slow'],
  /** blob chunks, blob and manifest PUTs */
  upload: ['flip-up', 'reset', 'status', 'slow'],
  other: ['reset', 'status', 'slow'],
} as const;
const turns = { body: 0, upload: 0, other: 0 };
const always = () => true;
// The first requests of each class get these (small offsets: they land in any body), so even a
// short soak sees every kind; then faults are random.
const FORCED: Record<keyof typeof CLASSES, Fault[]> = {
  body: [{ kind: 'drop', afterBytes: 10, times: 1, match: always }, { kind: 'flip', offset: 10, times: 1, match: always }],
  upload: [{ kind: 'flip-up', offset: 10, times: 1, match: always }],
  other: [{ kind: 'reset', times: 1, match: always }, { kind: 'slow', delayMs: 300, chunkDelayMs: 0, times: 1, match: always }],
};
function chaos(r: SeenRequest): Fault | undefined {
  const cls = r.method === 'GET' && /\/(blobs\/sha256:|manifests\/)/.test(r.url) ? 'body' : r.method === 'PATCH' || r.method === 'PUT' ? 'upload' : 'other';
  const forced = FORCED[cls].shift();
  if (forced) return forced;
  if (rnd() >= FAULT_RATE) return undefined;
  const kinds: readonly (typeof KINDS)[number][] = CLASSES[cls];
  const kind = kinds[turns[cls]++ % kinds.length]!;
  switch (kind) {
    case 'reset':
      return { kind, times: 1, match: always };
    case 'status':
      return { kind, status: pick([500, 502, 503]), times: 1, match: always };
    case 'slow':
      return { kind, delayMs: Math.floor(rnd() * 500), chunkDelayMs: Math.floor(rnd() * 8), times: 1, match: always };
    case 'drop':
      return { kind, afterBytes: 1 + Math.floor(rnd() * 4000), times: 1, match: always };
    case 'flip':
      return { kind, offset: Math.floor(rnd() * 400), times: 1, match: always };
    case 'flip-up':
      return { kind, offset: Math.floor(rnd() * 300), times: 1, match: always };
  }
}

async function importImage(img: TestImage, store: string, name: string): Promise<string> {
  const layout = join(work, 'layouts', name);
  await writeOciLayout(layout, img, 'v1');
  const r = await tsbuildAsync(['pull', '-q', '--root', store, `oci:${layout}:v1`]);
  assert.equal(r.status, 0, r.stderr);
  return lastLine(r.stdout);
}

/** Push straight to the registry (no proxy): the digest every later push of `id` must give. */
async function cleanPushDigest(store: string, id: string, ref: string): Promise<string> {
  const file = join(work, `clean-${ref.replace(/\W/g, '_')}`);
  const r = await tsbuildAsync(['push', '-q', '--root', store, '--tls-verify=false', '--digestfile', file, id, `docker://${reg.host}/${ref}`]);
  assert.equal(r.status, 0, r.stderr);
  return (await readFile(file, 'utf8')).trim();
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'tsbuild-soak-'));
  root = join(work, 'store');
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.host);
  // Images to push (in the shared store) and images to pull (pushed to the registry cleanly, from a
  // store of their own so the shared one does not hold them). Each has a random 96–320 KiB layer:
  // faults land mid-body.
  const four = [0, 1, 2, 3];
  pushSources.push(
    ...(await Promise.all(
      four.map(async (i) => {
        const img = makeTestImage({ text: `soak push ${i} ${SEED}\n`, extraLayerBytes: (96 + 64 * i) * 1024 });
        const id = await importImage(img, root, `push${i}`);
        return { id, digest: await cleanPushDigest(root, id, `soak/clean${i}:v1`) };
      }),
    )),
  );
  seeds.push(
    ...(await Promise.all(
      four.map(async (i) => {
        const seedRoot = join(work, `seed-store${i}`);
        const img = makeTestImage({ text: `soak pull ${i} ${SEED}\n`, extraLayerBytes: (320 - 64 * i) * 1024 });
        const id = await importImage(img, seedRoot, `seed${i}`);
        return { id, digest: await cleanPushDigest(seedRoot, id, `seed/s${i}:v1`) };
      }),
    )),
  );
  proxy.chaos = chaos;
});

after(async () => {
  await proxy?.stop();
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function oneOp(n: number): Promise<Op> {
  const t0 = Date.now();
  const op = await runOp(n);
  return { ...op, ms: Date.now() - t0 };
}

async function runOp(n: number): Promise<Omit<Op, 'ms'>> {
  if (rnd() < 0.5) {
    const image = Math.floor(rnd() * pushSources.length);
    // Fresh repositories get blob uploads; repeated ones hit existing blobs and re-tag.
    const ref = `soak/img${image}-r${Math.floor(rnd() * 6)}:t${Math.floor(rnd() * 2)}`;
    const file = join(work, 'digests', `op${n}`);
    const result = await tsbuildAsync(['push', '-q', '--root', root, '--tls-verify=false', ...RETRY, '--digestfile', file, pushSources[image]!.id, `docker://${proxy.host}/${ref}`]);
    const digest = result.status === 0 ? (await readFile(file, 'utf8')).trim() : undefined;
    return { n, kind: 'push', ref, image, result, digest };
  }
  const image = Math.floor(rnd() * seeds.length);
  // Mostly a fresh store (every blob crosses the proxy), sometimes the shared one (which is also
  // being pushed from).
  const store = rnd() < 0.75 ? join(work, 'pulls', `op${n}`) : root;
  const ref = `seed/s${image}:v1`;
  const result = await tsbuildAsync(['pull', '-q', '--root', store, '--tls-verify=false', ...RETRY, `docker://${proxy.host}/${ref}`]);
  return { n, kind: 'pull', ref, store, image, result };
}

test(`soak: ${OPS} pulls and pushes through injected faults end in success or one clean error line`, { timeout: (SECONDS + 120) * 1000 }, async () => {
  await mkdir(join(work, 'digests'));
  await mkdir(join(work, 'pulls'));
  const start = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < OPS && Date.now() - start < SECONDS * 1000) ops.push(await oneOp(next++));
  };
  await Promise.all(Array.from({ length: JOBS }, worker));
  elapsed = (Date.now() - start) / 1000;
  proxy.chaos = undefined;

  const injected = new Map<string, number>();
  for (const r of proxy.requests) if (r.injected) injected.set(r.injected, (injected.get(r.injected) ?? 0) + 1);
  const ok = ops.filter((o) => o.result.status === 0);
  const summary = `seed ${SEED}: ${ops.length} commands in ${elapsed.toFixed(1)} s (${ok.filter((o) => o.kind === 'push').length}/${ops.filter((o) => o.kind === 'push').length} pushes, ${ok.filter((o) => o.kind === 'pull').length}/${ops.filter((o) => o.kind === 'pull').length} pulls succeeded); ${proxy.requests.length} requests, injected ${JSON.stringify(Object.fromEntries(injected))}; command ${Math.round(ops.reduce((a, o) => a + o.ms, 0) / ops.length)} ms on average, ${Math.max(...ops.map((o) => o.ms))} ms at most`;
  process.stderr.write(`# ${summary}\n`);
  const errors = new Map<string, number>();
  for (const o of ops) {
    const { status, stdout, stderr } = o.result;
    const what = `${o.kind} ${o.ref} (op ${o.n}, ${summary})`;
    if (status === 0) {
      assert.equal(stderr, '', `${what}: succeeded but wrote to stderr:\n${stderr}`);
      if (o.kind === 'pull') assert.equal(lastLine(stdout), seeds[o.image]!.id, `${what}: pulled image ID`);
      else assert.equal(o.digest, pushSources[o.image]!.digest, `${what}: pushed manifest digest`);
      continue;
    }
    assert.equal(status, 1, `${what}: exit ${status}, expected 0 or 1:\n${stderr}`);
    const lines = stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, `${what}: not one error line:\n${stderr}`);
    assert.match(lines[0]!, /^Error: \S/, `${what}: error line`);
    assert.doesNotMatch(lines[0]!, /\s+at \S+ \(|TypeError|ReferenceError|undefined/, `${what}: internal error`);
    const shape = lines[0]!.replace(/sha256:[0-9a-f]+/g, 'sha256:H').replace(/\d+/g, 'N').slice(0, 140);
    errors.set(shape, (errors.get(shape) ?? 0) + 1);
  }
  for (const [e, c] of errors) process.stderr.write(`#   ${c} x ${e}\n`);
  assert.equal(ops.length, Math.min(OPS, ops.length));
  assert.ok(ops.length >= Math.min(OPS, 20), `only ${ops.length} commands ran in ${SECONDS} s`);
  for (const k of KINDS) if (ops.length >= 10) assert.ok((injected.get(k) ?? 0) > 0, `no ${k} fault was injected: ${summary}`);
  // Retries must carry most commands through: a soak where everything fails proves little.
  assert.ok(ok.length >= ops.length / 2, `only ${ok.length} of ${ops.length} commands succeeded: ${summary}`);
});

test('soak: nothing corrupt is stored (check-store clean on the shared store and every pull store)', { timeout: 180_000 }, async () => {
  assert.ok(ops.length > 0, 'the soak ran');
  const stores = [root, ...ops.filter((o) => o.kind === 'pull' && o.store !== root).map((o) => o.store!)];
  let i = 0;
  const bad: string[] = [];
  const worker = async () => {
    while (i < stores.length) {
      const s = stores[i++]!;
      const r = await tsbuildAsync(['check-store', '--root', s]);
      if (r.status !== 0) bad.push(`${s}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    }
  };
  await Promise.all(Array.from({ length: JOBS }, worker));
  assert.deepEqual(bad, []);
  // The shared store holds exactly the images that were pulled into it with success (plus the push
  // sources): what a failed pull left behind is not an image.
  const images = await tsbuildAsync(['images', '--root', root, '--format', 'json']);
  assert.equal(images.status, 0, images.stderr);
  const ids = new Set((JSON.parse(images.stdout) as { Id: string }[]).map((r) => r.Id));
  const expected = new Set([...pushSources.map((s) => s.id), ...ops.filter((o) => o.kind === 'pull' && o.store === root && o.result.status === 0).map((o) => seeds[o.image]!.id)]);
  assert.deepEqual([...ids].sort(), [...expected].sort(), 'the shared store holds the push sources and the images pulled into it with success');
});

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

async function registryJson<T>(path: string): Promise<T> {
  const res = await fetch(`http://${reg.host}${path}`);
  assert.equal(res.status, 200, `GET ${path}`);
  return (await res.json()) as T;
}

test('soak: nothing corrupt is pushed (every tag has its clean digest, every registry blob hashes to its name)', { timeout: 180_000 }, async () => {
  assert.ok(ops.length > 0, 'the soak ran');
  // Every blob the registry stores, whoever uploaded it.
  const blobsDir = join(reg.dir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256');
  let blobs = 0;
  for (const pre of await readdir(blobsDir)) {
    for (const hex of await readdir(join(blobsDir, pre))) {
      assert.equal(await sha256File(join(blobsDir, pre, hex, 'data')), hex, `registry blob ${hex}`);
      blobs++;
    }
  }
  assert.ok(blobs > 0);
  // Every tag of every soak repository — pushed with success or not — is its image's clean digest.
  const { repositories } = await registryJson<{ repositories: string[] }>('/v2/_catalog?n=1000');
  const tags: { ref: string; image: number }[] = [];
  for (const repo of repositories) {
    const m = /^soak\/img(\d+)-r\d+$/.exec(repo);
    if (!m) continue;
    // A push that failed before its manifest leaves a repository of blobs and no tags (404).
    const res = await fetch(`http://${reg.host}/v2/${repo}/tags/list`);
    assert.ok(res.status === 200 || res.status === 404, `tags of ${repo}: ${res.status}`);
    const t = res.status === 200 ? ((await res.json()) as { tags: string[] | null }).tags : [];
    for (const tag of t ?? []) tags.push({ ref: `${repo}:${tag}`, image: Number(m[1]) });
  }
  const pushedOk = ops.filter((o) => o.kind === 'push' && o.result.status === 0);
  for (const o of pushedOk) assert.ok(tags.some((t) => t.ref === o.ref), `${o.ref} (pushed with success) is in the registry`);
  let i = 0;
  const worker = async () => {
    while (i < tags.length) {
      const t = tags[i++]!;
      const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/${t.ref}`]);
      const info = JSON.parse(stdout) as { Digest: string };
      assert.equal(info.Digest, pushSources[t.image]!.digest, `${t.ref} in the registry`);
    }
  };
  await Promise.all(Array.from({ length: JOBS }, worker));
  await writeFile(join(work, 'checked'), `${tags.length} tags, ${blobs} blobs\n`);
  process.stderr.write(`# registry: ${tags.length} tags and ${blobs} blobs verified\n`);
});

test('a manifest corrupted on the way that the registry accepts is put again, or deleted: never left under the tag', { timeout: 60_000 }, async () => {
  proxy.chaos = undefined;
  const res = await fetch(`http://${reg.host}/v2/soak/clean0/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  const clean = await res.text();
  // A byte inside the key of the config descriptor's "mediaType": still JSON, and docker-registry
  // ignores the unknown key, so it stores the manifest with another digest.
  const offset = clean.indexOf('"mediaType"', clean.indexOf('"config"')) + 3;
  const isManifestPut = (r: SeenRequest) => r.method === 'PUT' && r.url.includes('/manifests/');
  const push = (ref: string, retry: string) => tsbuildAsync(['push', '-q', '--root', root, '--tls-verify=false', '--retry', retry, pushSources[0]!.id, `docker://${proxy.host}/${ref}`]);
  const tagDigest = async (ref: string) => {
    const [repo, tag] = ref.split(':');
    const r = await fetch(`http://${reg.host}/v2/${repo}/manifests/${tag}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    return r.status === 200 ? r.headers.get('docker-content-digest') : `status ${r.status}`;
  };

  proxy.faults.push({ kind: 'flip-up', offset, times: 1, match: isManifestPut });
  const once = await push('fix/corrupt:once', '2');
  assert.equal(once.status, 0, once.stderr);
  assert.equal(await tagDigest('fix/corrupt:once'), pushSources[0]!.digest, 'the retry overwrote the corrupted manifest');
  assert.ok(proxy.requests.some((r) => r.injected === 'flip-up' && isManifestPut(r)), 'the fault was injected');

  proxy.faults.push({ kind: 'flip-up', offset, times: 2, match: isManifestPut });
  const always = await push('fix/corrupt:always', '1');
  assert.equal(always.status, 1);
  assert.match(always.stderr, /^Error: pushing manifest for docker:\/\/127\.0\.0\.1:\d+\/fix\/corrupt:always: registry stored digest sha256:[0-9a-f]{64}, expected sha256:[0-9a-f]{64} after 2 attempts\n$/);
  assert.equal(await tagDigest('fix/corrupt:always'), 'status 404', 'the corrupted manifest was deleted, the tag with it');
});

test('a connection cut in the middle of a manifest is retried, and with no retries left is one clean error', { timeout: 60_000 }, async () => {
  proxy.chaos = undefined;
  const isManifestGet = (r: SeenRequest) => r.method === 'GET' && r.url.includes('/seed/s0/manifests/');
  const pull = (retry: string) => tsbuildAsync(['pull', '-q', '--root', join(work, `cut-${retry}`), '--tls-verify=false', '--retry', retry, `docker://${proxy.host}/seed/s0:v1`]);
  proxy.faults.push({ kind: 'drop', afterBytes: 10, times: 1, match: isManifestGet });
  const ok = await pull('2');
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(lastLine(ok.stdout), seeds[0]!.id);
  proxy.faults.push({ kind: 'drop', afterBytes: 10, times: 1, match: isManifestGet });
  const cut = await pull('0');
  assert.equal(cut.status, 1, cut.stderr);
  assert.match(cut.stderr, /^Error: fetching manifest for docker:\/\/127\.0\.0\.1:\d+\/seed\/s0:v1: cannot talk to 127\.0\.0\.1:\d+: [^\n]+\n$/);
});
