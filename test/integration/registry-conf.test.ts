// registries.conf applied to the docker:// transport: prefix rewrite to a location and mirrors tried
// first, for pulls (a push goes where its name says, as containers/image), insecure allows http,
// blocked refuses with one line.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRegistryDestination, openRegistrySource } from '../../registry/distribution/index.js';
import { isUserError } from '../../oci/errors.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { startFaultProxy, type FaultProxy } from '../helpers/registry-faults.js';
import { makeTestImage } from '../helpers/registry-image.js';
import { dockerRef, pullImage, pushImage } from '../helpers/registry-copy.js';

let reg: RegistryServer;
let mirror: FaultProxy;
let conf: string;
const img = makeTestImage({ text: 'conf\n' });

before(async () => {
  reg = await startRegistry();
  mirror = await startFaultProxy(reg.host);
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-conf-'));
  conf = join(dir, 'registries.conf');
  await writeFile(conf, `
unqualified-search-registries = ["${reg.host}"]

[[registry]]
prefix = "example.test/team"   # rewritten to the local registry
location = "${reg.host}/mirrored"
insecure = true

[[registry.mirror]]
location = "127.0.0.1:1/none"  # nothing listens here: skipped
insecure = true

[[registry.mirror]]
location = "${mirror.host}/mirrored"
insecure = true

[[registry]]
location = "blocked.test"
blocked = true

[[registry]]
location = "${reg.host}"   # plain http
insecure = true
`);
});
after(async () => {
  await mirror?.stop();
  await reg?.stop();
});

test('push goes where its name says (insecure from its entry); a pull through the rewritten prefix tries mirrors first', async () => {
  const dest = await openRegistryDestination(dockerRef(`${reg.host}/mirrored/app:1`), { registriesConf: conf, retryDelayMs: 5 });
  await pushImage(dest, img);
  await dest.close();
  assert.equal(mirror.requests.length, 0, 'push must not use mirrors');

  const src = await openRegistrySource(dockerRef('example.test/team/app:1'), { registriesConf: conf, retries: 0 });
  const got = await pullImage(src);
  await src.close();
  assert.equal(got.digest, img.manifest.digest);
  assert.ok(mirror.requests.some((r) => r.url === '/v2/mirrored/app/manifests/1'), 'served through the mirror');
  assert.ok(mirror.requests.some((r) => r.url.startsWith('/v2/mirrored/app/blobs/')), 'blobs from the same mirror');
});

test('blocked registry → one-line UserError', async () => {
  await assert.rejects(openRegistrySource(dockerRef('blocked.test/x/y:1'), { registriesConf: conf }), (e: unknown) => isUserError(e) && /docker:\/\/blocked\.test\/x\/y:1: registry blocked\.test is blocked/.test(e.message));
  await assert.rejects(openRegistryDestination(dockerRef('blocked.test/x/y:1'), { registriesConf: conf }), /blocked/);
});

test('tlsVerify=true overrides insecure=true', async () => {
  const src = await openRegistrySource(dockerRef("example.test/team/app:1"), { registriesConf: conf, tlsVerify: true, retries: 0 });
  await assert.rejects(src.getManifest(), /TLS|EPROTO|cannot talk/);
  await src.close();
});
