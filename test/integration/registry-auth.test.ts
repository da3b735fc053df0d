// Basic (htpasswd) and Bearer (token server) auth against a real docker-registry; login/logout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRegistryDestination, openRegistrySource } from '../../registry/distribution/index.js';
import { login, logout } from '../../registry/auth/index.js';
import { isUserError } from '../../oci/errors.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { makeTestImage } from '../helpers/registry-image.js';
import { dockerRef, pullImage, pushImage } from '../helpers/registry-copy.js';

const PASSWORD = 's3cret-Pa55:with:colons';

function oneLineNoSecret(e: unknown, ref: RegExp, secret: string): boolean {
  assert.ok(isUserError(e), `expected UserError, got ${String(e)}`);
  assert.doesNotMatch(e.message, /\n/);
  assert.match(e.message, ref);
  assert.ok(!e.message.includes(secret), 'message leaks the password');
  assert.ok(!e.message.includes(Buffer.from(`alice:${secret}`).toString('base64')), 'message leaks the auth header');
  return true;
}

describe('htpasswd Basic auth', () => {
  let reg: RegistryServer;
  before(async () => {
    reg = await startRegistry({ auth: 'basic', users: { alice: PASSWORD } });
  });
  after(async () => reg?.stop());

  test('push and pull with --creds', async () => {
    const img = makeTestImage({ text: 'basic\n' });
    const ref = dockerRef(`${reg.host}/team/basic:1`);
    const dest = await openRegistryDestination(ref, { tlsVerify: false, creds: `alice:${PASSWORD}` });
    await pushImage(dest, img);
    await dest.close();
    const src = await openRegistrySource(ref, { tlsVerify: false, creds: `alice:${PASSWORD}` });
    assert.equal((await pullImage(src)).digest, img.manifest.digest);
    await src.close();
  });

  test('wrong password → one-line UserError naming the reference, no password', async () => {
    const src = await openRegistrySource(dockerRef(`${reg.host}/team/basic:1`), { tlsVerify: false, creds: 'alice:WRONG-pw-123' });
    await assert.rejects(src.getManifest(), (e) => oneLineNoSecret(e, /docker:\/\/127\.0\.0\.1:\d+\/team\/basic:1.*invalid username or password/, 'WRONG-pw-123'));
    await src.close();
  });

  test('no credentials → "authentication required"', async () => {
    const src = await openRegistrySource(dockerRef(`${reg.host}/team/basic:1`), { tlsVerify: false, authfile: '/nonexistent/auth.json' });
    await assert.rejects(src.getManifest(), (e) => oneLineNoSecret(e, /team\/basic:1.*(requires a username|authentication required)/, PASSWORD));
    await src.close();
  });

  test('login verifies, writes auth.json 0600; pull uses it; logout removes it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-auth-'));
    const authfile = join(dir, 'sub', 'auth.json');
    await assert.rejects(login(reg.host, 'alice', 'nope', { authfile, tlsVerify: false }), (e) => oneLineNoSecret(e, /127\.0\.0\.1/, 'nope'));
    await assert.rejects(stat(authfile), /ENOENT/);
    assert.equal(await login(reg.host, 'alice', PASSWORD, { authfile, tlsVerify: false }), authfile);
    assert.equal((await stat(authfile)).mode & 0o777, 0o600);
    const saved = JSON.parse(await readFile(authfile, 'utf8'));
    assert.equal(Buffer.from(saved.auths[reg.host].auth, 'base64').toString(), `alice:${PASSWORD}`);
    const src = await openRegistrySource(dockerRef(`${reg.host}/team/basic:1`), { tlsVerify: false, authfile });
    await src.getManifest();
    await src.close();
    assert.equal(await logout(reg.host, { authfile }), true);
    assert.equal(await logout(reg.host, { authfile }), false);
  });

  test('docker config.json style auth via $REGISTRY_AUTH_FILE', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-auth-'));
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ auths: { [`http://${reg.host}`]: { auth: Buffer.from(`alice:${PASSWORD}`).toString('base64') } } }));
    const old = process.env.REGISTRY_AUTH_FILE;
    process.env.REGISTRY_AUTH_FILE = file;
    try {
      const src = await openRegistrySource(dockerRef(`${reg.host}/team/basic:1`), { tlsVerify: false });
      await src.getManifest();
      await src.close();
    } finally {
      if (old === undefined) delete process.env.REGISTRY_AUTH_FILE;
      else process.env.REGISTRY_AUTH_FILE = old;
    }
  });
});

describe('Bearer token auth', () => {
  let reg: RegistryServer;
  before(async () => {
    reg = await startRegistry({ auth: 'token', users: { alice: PASSWORD }, anonymousPull: true });
  });
  after(async () => reg?.stop());

  test('push with creds, anonymous pull; tokens cached per scope', async () => {
    const img = makeTestImage({ text: 'token\n' });
    const ref = dockerRef(`${reg.host}/team/tok:1`);
    const dest = await openRegistryDestination(ref, { tlsVerify: false, creds: `alice:${PASSWORD}` });
    await pushImage(dest, img);
    await dest.close();
    const pushTokens = reg.tokenRequests.filter((r) => r.scopes.includes('repository:team/tok:pull,push'));
    assert.equal(pushTokens.length, 1, `one token for the push scope, got ${JSON.stringify(reg.tokenRequests)}`);
    assert.equal(pushTokens[0].account, 'alice');

    const src = await openRegistrySource(ref, { tlsVerify: false, authfile: '/nonexistent' });
    assert.equal((await pullImage(src)).digest, img.manifest.digest);
    await src.close();
    const pullTokens = reg.tokenRequests.filter((r) => r.scopes.includes('repository:team/tok:pull'));
    assert.equal(pullTokens.length, 1);
    assert.equal(pullTokens[0].account, undefined);
  });

  test('anonymous push is refused with one line', async () => {
    const dest = await openRegistryDestination(dockerRef(`${reg.host}/team/anon:1`), { tlsVerify: false, authfile: '/nonexistent' });
    await assert.rejects(pushImage(dest, makeTestImage()), (e) => oneLineNoSecret(e, /team\/anon:1.*(authentication required|access denied)/, PASSWORD));
    await dest.close();
  });

  test('wrong password at the token server → UserError without the password', async () => {
    const src = await openRegistrySource(dockerRef(`${reg.host}/team/tok:1`), { tlsVerify: false, creds: 'alice:bad-Secret-9' });
    await assert.rejects(src.getManifest(), (e) => oneLineNoSecret(e, /team\/tok:1.*invalid username or password/, 'bad-Secret-9'));
    await src.close();
  });
});
