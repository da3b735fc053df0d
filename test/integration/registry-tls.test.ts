// TLS: a registry whose certificate is signed by a CA made in the test. Trusted through --cert-dir
// or a certs.d-style HOST:PORT directory; refused (one line) without it; tlsVerify=false skips it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRegistryDestination, openRegistrySource } from '../../registry/distribution/index.js';
import { isUserError } from '../../oci/errors.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { makeTestImage } from '../helpers/registry-image.js';
import { dockerRef, pullImage, pushImage } from '../helpers/registry-copy.js';

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
