// TLS: a registry whose certificate is signed by a CA made in the test. Trusted through --cert-dir
// or a certs.d-style HOST:PORT directory; refused (one line) without it; tlsVerify=false skips it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRegistryDestination, openRegistrySource } from '../../registry/distribution/index.js';
import { isUserError } from '../../oci/errors.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { makeTestImage } from '../helpers/registry-image.js';
import { dockerRef, pullImage, pushImage } from '../helpers/registry-copy.js';
import { REPO_ROOT } from '../helpers/busybox-image.js';

let reg: RegistryServer;
const img = makeTestImage({ text: 'tls\n' });
before(async () => {
  reg = await startRegistry({ tls: true });
});
after(async () => reg?.stop());

test('push and pull with the CA from --cert-dir', async () => {
  const ref = dockerRef(`${reg.host}/secure/img:1`);
  const dest = await openRegistryDestination(ref, { certDir: reg.certDir, perHostCertDirs: [] });
  await pushImage(dest, img);
  await dest.close();
  const src = await openRegistrySource(ref, { certDir: reg.certDir, perHostCertDirs: [] });
  assert.equal((await pullImage(src)).digest, img.manifest.digest);
  await src.close();
});

test('certs.d/HOST:PORT/*.crt is picked up per host', async () => {
  const root = await mkdtemp(join(tmpdir(), 'tsbuild-certsd-'));
  await mkdir(join(root, reg.host));
  await copyFile(reg.caFile!, join(root, reg.host, 'ca.crt'));
  const src = await openRegistrySource(dockerRef(`${reg.host}/secure/img:1`), { perHostCertDirs: [root] });
  assert.equal((await src.getManifest()).digest, img.manifest.digest);
  await src.close();
});

test('without the CA: one-line TLS UserError naming the reference', async () => {
  const src = await openRegistrySource(dockerRef(`${reg.host}/secure/img:1`), { perHostCertDirs: [], retries: 0 });
  await assert.rejects(src.getManifest(), (e: unknown) => {
    assert.ok(isUserError(e));
    assert.match(e.message, /docker:\/\/127\.0\.0\.1:\d+\/secure\/img:1/);
    assert.match(e.message, /TLS verification failed/);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
  await src.close();
});

test('tlsVerify=false talks https without verifying', async () => {
  const src = await openRegistrySource(dockerRef(`${reg.host}/secure/img:1`), { tlsVerify: false, perHostCertDirs: [] });
  assert.equal((await src.getManifest()).digest, img.manifest.digest);
  await src.close();
});

test('the tsbuild command trusts a CA given in NODE_EXTRA_CA_CERTS (read lazily by bin/tsbuild)', async () => {
  const work = await mkdtemp(join(tmpdir(), 'tsbuild-extra-ca-'));
  const ctx = join(work, 'ctx');
  await mkdir(ctx);
  await writeFile(join(ctx, 'Containerfile'), 'FROM scratch\nCOPY a.txt /a.txt\n');
  await writeFile(join(ctx, 'a.txt'), 'trusted through NODE_EXTRA_CA_CERTS\n');
  const root = join(work, 'store');
  const bin = join(REPO_ROOT, 'bin', 'tsbuild');
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => tsbuildAsyncWith(bin, args, env);
  assert.equal((await run(['build', '-q', '--root', root, '-t', 'localhost/extra-ca', ctx])).status, 0);
  const dest = `docker://${reg.host}/secure/extra-ca:1`;
  const without = await run(['push', '-q', '--root', root, '--retry', '0', 'localhost/extra-ca', dest], { NODE_EXTRA_CA_CERTS: '' });
  assert.equal(without.status, 1, 'the control: without the CA the push is refused');
  assert.match(without.stderr, /TLS verification failed/);
  const withCa = await run(['push', '-q', '--root', root, 'localhost/extra-ca', dest], { NODE_EXTRA_CA_CERTS: reg.caFile! });
  assert.equal(withCa.status, 0, withCa.stderr);
});

test('a plain-http registry reached over https says so, as podman does, and how to allow it', async () => {
  const plain = await startRegistry({ tls: false });
  try {
    const work = await mkdtemp(join(tmpdir(), 'tsbuild-plain-'));
    const r = await tsbuildAsyncWith(join(REPO_ROOT, 'bin', 'tsbuild'), ['pull', '--root', join(work, 'store'), '--retry', '0', `${plain.host}/x/y:1`], {});
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^Error: .*cannot talk to 127\.0\.0\.1:\d+: the server gave an HTTP response to an HTTPS client \(a plain-http registry: use --tls-verify=false, or mark it insecure in registries\.conf\)$/m);
  } finally {
    await plain.stop();
  }
});

function tsbuildAsyncWith(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? -1, stderr }));
  });
}
