// Interoperability with skopeo: what skopeo pushes we pull, and what we push skopeo reads.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openRegistryDestination, openRegistrySource } from '../../registry/distribution/index.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { makeTestImage, writeOciLayout } from '../helpers/registry-image.js';
import { dockerRef, pullImage, pushImage } from '../helpers/registry-copy.js';

const run = promisify(execFile);
let reg: RegistryServer;
let policy: string;
before(async () => {
  reg = await startRegistry({ auth: 'basic', users: { bob: 'pw-bob' } });
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-skopeo-'));
  policy = join(dir, 'policy.json');
  await (await import('node:fs/promises')).writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
});
after(async () => reg?.stop());

test('skopeo copy oci: → registry, then our client pulls it byte for byte', async () => {
  const img = makeTestImage({ text: 'from skopeo\n' });
  const layout = await mkdtemp(join(tmpdir(), 'tsbuild-oci-'));
  await writeOciLayout(layout, img, 'v1');
  await run('skopeo', ['--policy', policy, 'copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', 'bob:pw-bob', '--preserve-digests', `oci:${layout}:v1`, `docker://${reg.host}/interop/from-skopeo:v1`]);
  const src = await openRegistrySource(dockerRef(`${reg.host}/interop/from-skopeo:v1`), { tlsVerify: false, creds: 'bob:pw-bob' });
  const got = await pullImage(src);
  await src.close();
  assert.equal(got.digest, img.manifest.digest);
  assert.deepEqual(got.blobs.get(img.layers[0].digest), img.layers[0].bytes);
});

test('our client pushes, skopeo inspect sees it', async () => {
  const img = makeTestImage({ text: 'from tsbuild\n' });
  const dest = await openRegistryDestination(dockerRef(`${reg.host}/interop/from-tsbuild:v2`), { tlsVerify: false, creds: 'bob:pw-bob' });
  await pushImage(dest, img);
  await dest.close();
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--creds', 'bob:pw-bob', `docker://${reg.host}/interop/from-tsbuild:v2`]);
  const info = JSON.parse(stdout) as { Digest: string; Layers: string[]; Architecture: string; Os: string };
  assert.equal(info.Digest, img.manifest.digest);
  assert.deepEqual(info.Layers, [img.layers[0].digest]);
  assert.equal(info.Os, 'linux');
  const raw = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', 'bob:pw-bob', `docker://${reg.host}/interop/from-tsbuild:v2`]);
  assert.equal(raw.stdout.trim(), img.manifest.bytes.toString());
});
