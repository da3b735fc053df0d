// Manifest handling against a scripted fake registry (node:http): schema 1 refused, index →
// platform entry, blob redirects followed without leaking credentials to the redirect target.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { openRegistrySource } from '../../registry/distribution/index.js';
import { isUserError } from '../../oci/errors.js';
import { freePort } from '../helpers/registry-server.js';
import { dockerRef, readAll } from '../helpers/registry-copy.js';

const sha = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const layer = Buffer.from('layer bytes served from a CDN');
const manifestFor = (arch: string) => Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(arch), size: arch.length },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(layer), size: layer.length }],
}));
const amd = manifestFor('amd64');
const arm = manifestFor('arm64');
const index = Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
  manifests: [
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(amd), size: amd.length, platform: { os: 'linux', architecture: 'amd64' } },
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(arm), size: arm.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
  ],
}));

let registry: Server;
let cdn: Server;
let host = '';
let cdnSeen: IncomingHttpHeaders[] = [];

before(async () => {
  const cdnPort = await freePort();
  cdn = createServer((req, res) => {
    cdnSeen.push(req.headers);
    res.writeHead(200, { 'content-length': layer.length }).end(layer);
  });
  await new Promise<void>((r) => cdn.listen(cdnPort, '127.0.0.1', r));
  const port = await freePort();
  host = `127.0.0.1:${port}`;
  registry = createServer((req, res) => {
    const url = req.url ?? '';
    if (req.headers.authorization !== 'Basic ' + Buffer.from('u:p').toString('base64')) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' }).end();
      return;
    }
    const send = (type: string, body: Buffer) => res.writeHead(200, { 'content-type': type, 'docker-content-digest': sha(body) }).end(body);
    if (url === '/v2/') return void res.writeHead(200).end('{}');
    if (url === '/v2/old/img/manifests/latest') return send('application/vnd.docker.distribution.manifest.v1+prettyjws', Buffer.from('{"schemaVersion":1,"name":"old/img"}'));
    if (url === '/v2/multi/img/manifests/latest') return send('application/vnd.oci.image.index.v1+json', index);
    if (url === `/v2/multi/img/manifests/${sha(amd)}`) return send('application/vnd.oci.image.manifest.v1+json', amd);
    if (url === `/v2/multi/img/manifests/${sha(arm)}`) return send('application/vnd.oci.image.manifest.v1+json', arm);
    if (url === `/v2/multi/img/blobs/${sha(layer)}`) return void res.writeHead(307, { location: `http://127.0.0.1:${cdnPort}/blob?sig=x` }).end();
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
  });
  await new Promise<void>((r) => registry.listen(port, '127.0.0.1', r));
});
after(async () => {
  registry?.closeAllConnections();
  cdn?.closeAllConnections();
  await new Promise((r) => registry?.close(r));
  await new Promise((r) => cdn?.close(r));
});

const opts = { tlsVerify: false, creds: 'u:p' };

test('schema 1 → UserError "schema 1 manifests are not supported"', async () => {
  const src = await openRegistrySource(dockerRef(`${host}/old/img`), opts);
  await assert.rejects(src.getManifest(), (e: unknown) => isUserError(e) && /docker:\/\/127\.0\.0\.1:\d+\/old\/img:latest: schema 1 manifests are not supported/.test(e.message));
  await src.close();
});

test('index → entry for the requested platform (and the default one)', async () => {
  const src = await openRegistrySource(dockerRef(`${host}/multi/img:latest`), opts);
  assert.equal((await src.getManifest({ os: 'linux', architecture: 'arm64' })).digest, sha(arm));
  assert.equal((await src.getManifest({ os: 'linux', architecture: 'amd64' })).digest, sha(amd));
  await assert.rejects(src.getManifest({ os: 'linux', architecture: 's390x' }), /no image for platform linux\/s390x.*linux\/amd64, linux\/arm64\/v8/);
  if (process.arch === 'x64' || process.arch === 'arm64') {
    assert.equal((await src.getManifest()).digest, process.arch === 'x64' ? sha(amd) : sha(arm));
  }
  await src.close();
});

test('blob GET follows a redirect; Authorization is not sent to the other origin', async () => {
  cdnSeen = [];
  const src = await openRegistrySource(dockerRef(`${host}/multi/img:latest`), opts);
  const data = await readAll(await src.getBlob({ mediaType: 'x', digest: sha(layer), size: layer.length }));
  await src.close();
  assert.deepEqual(data, layer);
  assert.equal(cdnSeen.length, 1);
  assert.equal(cdnSeen[0].authorization, undefined);
});
