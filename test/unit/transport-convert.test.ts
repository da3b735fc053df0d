import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convertManifest } from '../../oci/convert.js';
import * as mt from '../../oci/mediatypes.js';
import { UserError } from '../../oci/errors.js';
import type { ImageManifest } from '../../oci/types.js';

const d = (mediaType: string, n: string) => ({ mediaType, digest: 'sha256:' + n.repeat(64), size: 10 });

test('OCI → Docker → OCI maps every media type and keeps digests', () => {
  const oci: ImageManifest = {
    schemaVersion: 2,
    mediaType: mt.OCI_MANIFEST,
    config: d(mt.OCI_CONFIG, 'a'),
    layers: [d(mt.OCI_LAYER_GZIP, 'b'), d(mt.OCI_LAYER, 'c')],
    annotations: { x: 'y' },
  };
  const docker = convertManifest(oci, 'docker');
  assert.equal(docker.mediaType, mt.DOCKER_MANIFEST);
  assert.equal(docker.config.mediaType, mt.DOCKER_CONFIG);
  assert.deepEqual(docker.layers.map((l) => l.mediaType), [mt.DOCKER_LAYER_GZIP, mt.DOCKER_LAYER]);
  assert.equal(docker.annotations, undefined);
  assert.equal(docker.layers[0]!.digest, oci.layers[0]!.digest);
  const back = convertManifest(docker, 'oci');
  assert.deepEqual(back.layers, oci.layers);
  assert.deepEqual(back.config, oci.config);
  assert.equal(back.mediaType, mt.OCI_MANIFEST);
});

test('zstd layers cannot become Docker schema 2', () => {
  const m: ImageManifest = { schemaVersion: 2, mediaType: mt.OCI_MANIFEST, config: d(mt.OCI_CONFIG, 'a'), layers: [d(mt.OCI_LAYER_ZSTD, 'b')] };
  assert.throws(() => convertManifest(m, 'docker'), (e: unknown) => e instanceof UserError && /zstd/.test(e.message));
  assert.equal(convertManifest(m, 'oci').layers[0]!.mediaType, mt.OCI_LAYER_ZSTD);
});

test('a non-image config is refused', () => {
  const m: ImageManifest = { schemaVersion: 2, mediaType: mt.OCI_MANIFEST, config: d('application/vnd.cncf.helm.config.v1+json', 'a'), layers: [] };
  assert.throws(() => convertManifest(m, 'docker'), UserError);
});
