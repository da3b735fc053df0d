// `tsbuild push` to the local transports, checked with the tools that read them: a Docker-format
// image pushed to an OCI layout or archive must be OCI there (skopeo, umoci, buildah find it by tag),
// and a docker-archive pushed without a name records the image's name (what buildah and podman do).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, push as libPush } from '../../index.js';
import { sha256 } from '../../oci/digest.js';
import * as mt from '../../oci/mediatypes.js';
import type { ImageIndex, ImageManifest } from '../../oci/types.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';
import { Buildah } from '../helpers/buildah.js';
import { TempDir, lastLine, tsbuildOk } from '../helpers/cli.js';
import { Podman } from '../helpers/podman.js';

let tmp: TempDir;
let root: string;
let busybox: BusyboxImage;
let ociAppId: string;

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function storedManifest(image: string): ImageManifest {
  return JSON.parse(tsbuildOk(['inspect', '--root', root, '--type', 'manifest', image]).stdout) as ImageManifest;
}

function push(image: string, dest: string, extra: string[] = []): string {
  const digestfile = join(tmp.path, 'digest');
  tsbuildOk(['push', '-q', '--root', root, '--digestfile', digestfile, ...extra, image, dest]);
  return readFileSync(digestfile, 'utf8');
}

/** What skopeo reads by tag: the raw manifest, and the digest it reports. */
function skopeoRead(ref: string): { manifest: ImageManifest; raw: string; digest: string } {
  const raw = sh('skopeo', ['inspect', '--raw', ref]);
  const digest = (JSON.parse(sh('skopeo', ['inspect', ref])) as { Digest: string }).Digest;
  return { manifest: JSON.parse(raw) as ImageManifest, raw, digest };
}

function dockerArchiveNames(file: string): string[] {
  return (JSON.parse(sh('tar', ['-xOf', file, 'manifest.json'])) as { RepoTags: string[] | null }[])[0]!.RepoTags ?? [];
}

before(() => {
  tmp = new TempDir();
  root = tmp.dir('store');
  busybox = makeBusyboxImage();
  // A docker-archive base: a Docker schema 2 image with uncompressed layers in the store.
  tsbuildOk(['pull', '-q', '--root', root, `docker-archive:${busybox.dockerArchive}`]);
  tmp.file('app/msg.txt', 'hi\n');
  tmp.file('app/Containerfile', 'FROM busybox\nCOPY msg.txt /msg.txt\n');
  tsbuildOk(['build', '-q', '--root', root, '--format', 'docker', '-t', 'dapp', tmp.path + '/app']);
  ociAppId = lastLine(tsbuildOk(['build', '-q', '--root', root, '-t', 'oapp', tmp.path + '/app']).stdout);
});
after(() => {
  busybox?.cleanup();
  tmp?.cleanup();
});

test('a Docker-format image pushed to oci: and oci-archive: is OCI there: skopeo, buildah and umoci read it by tag; layer blobs unchanged', (t) => {
  const stored = storedManifest('dapp');
  assert.equal(stored.mediaType, mt.DOCKER_MANIFEST);
  const expectLayers = stored.layers.map((l) => ({ ...l, mediaType: l.mediaType === mt.DOCKER_LAYER_GZIP ? mt.OCI_LAYER_GZIP : mt.OCI_LAYER }));
  const check = (ref: string, digest: string): void => {
    const got = skopeoRead(ref);
    assert.equal(got.manifest.mediaType, mt.OCI_MANIFEST, ref);
    assert.deepEqual(got.manifest.config, { ...stored.config, mediaType: mt.OCI_CONFIG }, ref);
    assert.deepEqual(got.manifest.layers, expectLayers, `${ref}: same blobs, no recompression`);
    assert.equal(digest, sha256(Buffer.from(got.raw)), `${ref}: --digestfile names the manifest written`);
    assert.equal(got.digest, digest, ref);
  };

  // Lower case: buildah names an image pulled from a layout after its path, which must be a valid name.
  const layout = join(tmpdir(), `tsbuild-push-layout-${process.pid}-${Date.now()}`);
  t.after(() => rmSync(layout, { recursive: true, force: true }));
  check(`oci:${layout}:t`, push('dapp', `oci:${layout}:t`));
  sh('umoci', ['unpack', '--rootless', '--image', `${layout}:t`, join(tmp.path, 'bundle')]);
  assert.equal(readFileSync(join(tmp.path, 'bundle/rootfs/msg.txt'), 'utf8'), 'hi\n');
  const buildah = new Buildah();
  try {
    buildah.pull(`oci:${layout}:t`, 'localhost/from-layout:t');
  } finally {
    buildah.cleanup();
  }

  const archive = join(tmp.path, 'app-oci.tar');
  check(`oci-archive:${archive}:t`, push('dapp', `oci-archive:${archive}:t`));
  const unpacked = join(tmp.path, 'unpacked');
  mkdirSync(unpacked);
  sh('tar', ['-xf', archive, '-C', unpacked]);
  sh('umoci', ['unpack', '--rootless', '--image', `${unpacked}:t`, join(tmp.path, 'bundle2')]);
  assert.ok(existsSync(join(tmp.path, 'bundle2/rootfs/msg.txt')));

  // The docker-archive base (uncompressed Docker layers) converts the same way.
  const base = storedManifest('busybox');
  const bdigest = push('busybox', `oci:${layout}:base`);
  const got = skopeoRead(`oci:${layout}:base`);
  assert.equal(got.digest, bdigest);
  assert.deepEqual(got.manifest.layers, base.layers.map((l) => ({ ...l, mediaType: mt.OCI_LAYER })));

  // --format docker asks for a Docker manifest, and gets one, as with buildah push --format docker.
  push('dapp', `oci:${layout}:forced`, ['--format', 'docker']);
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as ImageIndex;
  const forced = index.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === 'forced')!;
  assert.equal(forced.mediaType, mt.DOCKER_MANIFEST);
});

test('an OCI image pushed to docker-archive: is Docker schema 2 there; without a name it records the name the image was given by', async () => {
  const podman = new Podman();
  try {
    const byName = join(tmp.path, 'by-name.tar');
    push('oapp', `docker-archive:${byName}`);
    assert.deepEqual(dockerArchiveNames(byName), ['localhost/oapp:latest']);
    assert.equal((JSON.parse(sh('skopeo', ['inspect', '--raw', `docker-archive:${byName}`])) as ImageManifest).mediaType, mt.DOCKER_MANIFEST);
    assert.equal(podman.load(byName), 'localhost/oapp:latest');
    assert.equal(podman.exec(['images', '--format', '{{.ID}}', 'localhost/oapp:latest']).trim(), ociAppId.slice(0, 12));

    // The name used, not the image's first one; by ID, no name (podman loads it unnamed).
    tsbuildOk(['tag', '--root', root, 'oapp', 'oapp:v2']);
    const second = join(tmp.path, 'second.tar');
    push('oapp:v2', `docker-archive:${second}`);
    assert.deepEqual(dockerArchiveNames(second), ['localhost/oapp:v2']);
    const byId = join(tmp.path, 'by-id.tar');
    push(ociAppId.slice(0, 12), `docker-archive:${byId}`);
    assert.deepEqual(dockerArchiveNames(byId), []);
    // The library's push() does the same.
    const lib = join(tmp.path, 'lib.tar');
    await libPush(await openStore(root), 'oapp:v2', `docker-archive:${lib}`);
    assert.deepEqual(dockerArchiveNames(lib), ['localhost/oapp:v2']);
    const named = join(tmp.path, 'named.tar');
    push('oapp', `docker-archive:${named}:example.com/team/app:1`);
    assert.deepEqual(dockerArchiveNames(named), ['example.com/team/app:1']);
  } finally {
    podman.cleanup();
  }
});
