import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseChallenge } from '../../registry/auth/challenge.js';
import { authFileCandidates, lookupCredentials, parseCredsFlag } from '../../registry/auth/credentials.js';
import { normalizeRegistryKey } from '../../registry/auth/login.js';

test('WWW-Authenticate parsing', () => {
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), {
    scheme: 'bearer',
    params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
  });
  assert.deepEqual(parseChallenge('Basic realm="Registry \\"Realm\\""'), { scheme: 'basic', params: { realm: 'Registry "Realm"' } });
  assert.deepEqual(parseChallenge('bearer realm=http://x/t, service=s'), { scheme: 'bearer', params: { realm: 'http://x/t', service: 's' } });
  assert.equal(parseChallenge('Negotiate abc'), undefined);
  assert.equal(parseChallenge(undefined), undefined);
});

test('--creds parsing keeps colons in the password and never echoes it', () => {
  assert.deepEqual(parseCredsFlag('u:a:b'), { username: 'u', password: 'a:b' });
  assert.throws(() => parseCredsFlag('onlyuser'), (e: Error) => !e.message.includes('onlyuser') || /username:password/.test(e.message));
});

test('lookup order: --creds, --authfile, then per-repo keys before host keys', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-creds-'));
  const f = join(dir, 'auth.json');
  const b = (s: string) => Buffer.from(s).toString('base64');
  await writeFile(f, JSON.stringify({ auths: { 'reg.test': { auth: b('host:1') }, 'reg.test/team': { auth: b('team:2') }, 'https://index.docker.io/v1/': { auth: b('hub:3') } } }));
  assert.deepEqual(await lookupCredentials('reg.test', 'team/app', { authfile: f }), { username: 'team', password: '2' });
  assert.deepEqual(await lookupCredentials('reg.test', 'other/app', { authfile: f }), { username: 'host', password: '1' });
  assert.deepEqual(await lookupCredentials('docker.io', 'library/busybox', { authfile: f }), { username: 'hub', password: '3' });
  assert.deepEqual(await lookupCredentials('reg.test', 'team/app', { authfile: f, creds: 'x:y' }), { username: 'x', password: 'y' });
  assert.equal(await lookupCredentials('none.test', 'a', { authfile: f }), undefined);
  assert.deepEqual(authFileCandidates(f), [f]);
  // Keys written as URLs with a path count for their host, as containers/image reads them.
  await writeFile(f, JSON.stringify({ auths: { 'http://127.0.0.1:5101/v1/': { auth: b('old:4') }, 'https://other.test:5000/some/path': { auth: b('path:5') }, 'https://127.0.0.10:5101/v2/': { auth: b('no:6') } } }));
  assert.deepEqual(await lookupCredentials('127.0.0.1:5101', 'app', { authfile: f }), { username: 'old', password: '4' });
  assert.deepEqual(await lookupCredentials('other.test:5000', 'x/y', { authfile: f }), { username: 'path', password: '5' });
  assert.equal(await lookupCredentials('127.0.0.1:510', 'app', { authfile: f }), undefined);
});

test('default files: $REGISTRY_AUTH_FILE, runtime auth.json, ~/.config, ~/.docker/config.json (credHelpers)', async () => {
  const home = await mkdtemp(join(tmpdir(), 'tsbuild-home-'));
  const bin = join(home, 'bin');
  await mkdir(bin);
  await mkdir(join(home, '.docker'));
  // A fake credential helper: answers for helper.test only.
  const helper = join(bin, 'docker-credential-fake');
  await writeFile(helper, '#!/bin/sh\nread url\nif [ "$url" = helper.test ]; then echo \'{"ServerURL":"helper.test","Username":"hu","Secret":"hs"}\'; else echo "credentials not found in native keychain"; exit 1; fi\n');
  await chmod(helper, 0o755);
  await writeFile(join(home, '.docker', 'config.json'), JSON.stringify({ credHelpers: { 'helper.test': 'fake' }, auths: { 'docker.only': { auth: Buffer.from('d:o').toString('base64') } } }));
  const saved = { HOME: process.env.HOME, PATH: process.env.PATH, REGISTRY_AUTH_FILE: process.env.REGISTRY_AUTH_FILE, DOCKER_CONFIG: process.env.DOCKER_CONFIG };
  process.env.HOME = home;
  process.env.PATH = `${bin}:${process.env.PATH}`;
  delete process.env.REGISTRY_AUTH_FILE;
  delete process.env.DOCKER_CONFIG;
  try {
    const files = authFileCandidates();
    assert.equal(files[files.length - 1], join(home, '.docker', 'config.json'));
    assert.ok(files.includes(join(home, '.config', 'containers', 'auth.json')));
    assert.deepEqual(await lookupCredentials('helper.test', 'x'), { username: 'hu', password: 'hs' });
    assert.deepEqual(await lookupCredentials('docker.only', 'x'), { username: 'd', password: 'o' });
    const env = join(home, 'env.json');
    await writeFile(env, JSON.stringify({ auths: { 'docker.only': { auth: Buffer.from('e:n').toString('base64') } } }));
    process.env.REGISTRY_AUTH_FILE = env;
    assert.deepEqual(await lookupCredentials('docker.only', 'x'), { username: 'e', password: 'n' });
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

test('login keys are normalised', () => {
  assert.equal(normalizeRegistryKey('https://index.docker.io/v1/'), 'docker.io');
  assert.equal(normalizeRegistryKey('quay.io/team/'), 'quay.io/team');
});
