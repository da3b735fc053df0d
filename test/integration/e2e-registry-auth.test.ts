// End to end through the real CLI against a password-protected (htpasswd) docker-registry:
// a fresh store pulls a skopeo-pushed busybox through a short name that registries.conf resolves,
// builds on it, pushes the result with `build --push`, and podman pulls and runs what was pushed.
// Also: wrong passwords fail in one line without echoing the password; login/logout; push --digestfile.
//
// Every command that talks to the registry runs asynchronously: the registry helper drains the
// registry's log pipe on this process's event loop, and a synchronous child (spawnSync) would let
// that pipe fill until the registry blocks mid-request.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';
import { CLI, lastLine, TempDir, type CliResult } from '../helpers/cli.js';
import { Podman } from '../helpers/podman.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';

const USER = 'alice';
const PASS = 'Secr3t-e2e-pw';
const WRONG = 'Wr0ng-e2e-pw';

let reg: RegistryServer;
let bb: BusyboxImage;
let tmp: TempDir;
let podman: Podman;
let policy: string;
/** registries.conf: the test registry is the only search registry, and plain http (insecure). */
let conf: string;
let env: NodeJS.ProcessEnv;

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

async function ok(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliResult> {
  const r = await run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd === process.execPath ? 'tsbuild' : cmd} ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return r;
}

const tsbuild = (args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}) => run(process.execPath, [CLI, ...args], opts);
const tsbuildOk = (args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}) => ok(process.execPath, [CLI, ...args], opts);
const skopeo = async (args: string[]) => (await ok('skopeo', ['--policy', policy, ...args])).stdout;

/** `podman pull` talks to the registry, so it runs asynchronously too (same isolated store flags). */
async function podmanPull(ref: string): Promise<void> {
  const base = (podman as unknown as { base(): string[] }).base();
  await ok('podman', [...base, 'pull', '-q', '--tls-verify=false', '--creds', `${USER}:${PASS}`, ref]);
}

/** Every stderr line that is not progress: what a user sees as the error. */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('Error:') || l.startsWith('Hint:'));
}

before(async () => {
  tmp = new TempDir();
  reg = await startRegistry({ auth: 'basic', users: { [USER]: PASS } });
  bb = makeBusyboxImage();
  policy = tmp.file('policy.json', JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  // The base as another tool pushes it: skopeo, into the repository a short name resolves to.
  await skopeo(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `${USER}:${PASS}`, bb.ociRef, `docker://${reg.host}/busybox:latest`]);
  conf = tmp.file('registries.conf', [
    `unqualified-search-registries = ["${reg.host}"]`,
    '',
    '[[registry]]',
    `location = "${reg.host}"`,
    'insecure = true',
    '',
  ].join('\n'));
  // Never read or write the machine's auth files or registries.conf.
  env = { CONTAINERS_REGISTRIES_CONF: conf, REGISTRY_AUTH_FILE: join(tmp.path, 'no-such-auth.json') };
  podman = new Podman();
});

after(async () => {
  podman?.cleanup();
  bb?.cleanup();
  await reg?.stop();
  tmp?.cleanup();
});

function context(name: string, text: string): string {
  const dir = tmp.dir(name);
  tmp.file(`${name}/hello.txt`, text);
  tmp.file(`${name}/Containerfile`, 'FROM busybox\nCOPY hello.txt /hello.txt\nCMD ["cat", "/hello.txt"]\n');
  return dir;
}

test('fresh store: FROM short name via registries.conf + htpasswd, build --push, podman runs it', async () => {
  const root = tmp.dir('store-e2e');
  const ctx = context('ctx-e2e', 'hello from a tsbuild image\n');
  const target = `${reg.host}/e2e/app:v1`;
  const digestfile = join(tmp.path, 'digest');
  const r = await tsbuildOk(['build', '--root', root, '--creds', `${USER}:${PASS}`, '-t', target, '--push', '--digestfile', digestfile, ctx], { env });
  assert.match(lastLine(r.stdout), /^[a-f0-9]{64}$/);
  assert.ok(!(r.stdout + r.stderr).includes(PASS), 'the password must never be printed');

  // The base was pulled under the name the short name resolved to.
  const images = (await tsbuildOk(['images', '--root', root], { env })).stdout;
  assert.match(images, new RegExp(`${reg.host.replace(/[.]/g, '\\.')}/busybox`));

  // What the registry holds is what --digestfile says.
  const inspected = JSON.parse(await skopeo(['inspect', '--tls-verify=false', '--creds', `${USER}:${PASS}`, `docker://${target}`])) as { Digest: string };
  assert.equal(readFileSync(digestfile, 'utf8'), inspected.Digest);

  await podmanPull(target);
  assert.equal(podman.run(target, ['cat', '/hello.txt']), 'hello from a tsbuild image\n');
  assert.equal(podman.run(target), 'hello from a tsbuild image\n'); // the image's CMD

  // The next build finds the short-name base in the store (no credentials, no pull).
  const again = await tsbuild(['build', '--root', root, '--pull=never', '-t', 'local-only', ctx], { env });
  assert.equal(again.status, 0, again.stderr);
});

test('pull by short name, then push docker:// with --tls-verify=false and --digestfile', async () => {
  const root = tmp.dir('store-pull');
  const id = lastLine((await tsbuildOk(['pull', '--root', root, '--creds', `${USER}:${PASS}`, 'busybox'], { env })).stdout);
  assert.match(id, /^[a-f0-9]{64}$/);
  const digestfile = join(tmp.path, 'push-digest');
  // No registries.conf here: --tls-verify=false alone must allow the http registry.
  await tsbuildOk(['push', '--root', root, '--tls-verify=false', '--creds', `${USER}:${PASS}`, '--digestfile', digestfile, id, `docker://${reg.host}/copies/busybox:1`], { env: { REGISTRY_AUTH_FILE: env.REGISTRY_AUTH_FILE } });
  const inspected = JSON.parse(await skopeo(['inspect', '--tls-verify=false', '--creds', `${USER}:${PASS}`, `docker://${reg.host}/copies/busybox:1`])) as { Digest: string };
  assert.equal(readFileSync(digestfile, 'utf8'), inspected.Digest);
  // repo:tag@digest names the digest: stored as repo@digest (as podman), usable by that name.
  const store2 = tmp.dir('store-pull-digest');
  const byDigest = `${reg.host}/copies/busybox@${inspected.Digest}`;
  await tsbuildOk(['pull', '--root', store2, '--tls-verify=false', '--creds', `${USER}:${PASS}`, `${reg.host}/copies/busybox:1@${inspected.Digest}`], { env });
  const info = JSON.parse((await tsbuildOk(['inspect', '--root', store2, byDigest], { env })).stdout) as { RepoTags: string[] };
  assert.deepEqual(info.RepoTags, [byDigest]);
});

test('a wrong password fails with one line naming the registry, never the password', async () => {
  const root = tmp.dir('store-wrong');
  for (const args of [
    ['pull', '--root', root, '--creds', `${USER}:${WRONG}`, 'busybox'],
    ['pull', '--root', root, '--creds', `${USER}:${WRONG}`, `${reg.host}/busybox`],
    ['build', '--root', root, '--creds', `${USER}:${WRONG}`, '-t', 'x', context('ctx-wrong', 'x\n')],
  ]) {
    const r = await tsbuild(args, { env });
    assert.notEqual(r.status, 0, `${args[0]} must fail`);
    const lines = errorLines(r.stderr);
    assert.equal(lines.length, 1, `one error line, got:\n${r.stderr}`);
    assert.ok(lines[0].includes(reg.host), `names the registry: ${lines[0]}`);
    assert.ok(!(r.stdout + r.stderr).includes(WRONG), 'the password must never be printed');
    assert.ok(!r.stderr.includes('    at '), 'no stack trace');
  }
  // And nothing was stored.
  assert.doesNotMatch((await tsbuildOk(['images', '--root', root], { env })).stdout, /busybox/);
});

test('login then pull without --creds; the auth file is 0600; logout forgets', async () => {
  const authfile = join(tmp.path, 'login', 'auth.json');
  const lenv = { ...env, REGISTRY_AUTH_FILE: authfile };
  const bad = await tsbuild(['login', '--tls-verify=false', '-u', USER, '--password-stdin', reg.host], { env: lenv, input: WRONG + '\n' });
  assert.notEqual(bad.status, 0);
  assert.ok(!(bad.stdout + bad.stderr).includes(WRONG));
  assert.equal(errorLines(bad.stderr).length, 1, bad.stderr);

  const good = await tsbuild(['login', '--tls-verify=false', '-u', USER, '--password-stdin', reg.host], { env: lenv, input: PASS + '\n' });
  assert.equal(good.status, 0, good.stderr);
  assert.ok(!(good.stdout + good.stderr).includes(PASS));
  assert.equal(statSync(authfile).mode & 0o777, 0o600);
  assert.ok(JSON.parse(readFileSync(authfile, 'utf8')).auths[reg.host]);

  const root = tmp.dir('store-login');
  const r = await tsbuild(['pull', '--root', root, 'busybox'], { env: lenv });
  assert.equal(r.status, 0, r.stderr);
  // --authfile names the same file explicitly.
  assert.equal((await tsbuild(['pull', '--root', root, '--authfile', authfile, `${reg.host}/busybox`], { env })).status, 0);

  await tsbuildOk(['logout', reg.host], { env: lenv });
  assert.equal(statSync(authfile).mode & 0o777, 0o600);
  assert.equal(JSON.parse(readFileSync(authfile, 'utf8')).auths?.[reg.host], undefined);
  const after = await tsbuild(['pull', '--root', tmp.dir('store-logout'), 'busybox'], { env: lenv });
  assert.notEqual(after.status, 0);
  assert.notEqual((await tsbuild(['logout', reg.host], { env: lenv })).status, 0, 'logging out twice says so');
  await tsbuildOk(['logout', '--all'], { env: lenv });
});

test('an image pushed by skopeo (Docker v2s2) is a FROM base by its full name', async () => {
  await skopeo(['copy', '--quiet', '--format', 'v2s2', '--dest-tls-verify=false', '--dest-creds', `${USER}:${PASS}`, bb.ociRef, `docker://${reg.host}/tools/base:2`]);
  const root = tmp.dir('store-skopeo');
  const ctx = tmp.dir('ctx-skopeo');
  tmp.file('ctx-skopeo/hello.txt', 'on a skopeo base\n');
  tmp.file('ctx-skopeo/Containerfile', `FROM ${reg.host}/tools/base:2\nCOPY hello.txt /hello.txt\n`);
  const target = `${reg.host}/e2e/on-skopeo:1`;
  // TLS and credentials from flags alone (no registries.conf): the FROM pull and the push use them.
  await tsbuildOk(['build', '--root', root, '--tls-verify=false', '--creds', `${USER}:${PASS}`, '--pull=always', '-t', target, '--push', ctx], { env: { REGISTRY_AUTH_FILE: env.REGISTRY_AUTH_FILE } });
  await podmanPull(target);
  assert.equal(podman.run(target, ['cat', '/hello.txt']), 'on a skopeo base\n');
});
