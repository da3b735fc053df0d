// Building the manifest of a new image from its config and layers. Pure: bytes in, bytes out.
import { canonicalJson, sha256 } from './digest.js';
import { DOCKER_CONFIG, DOCKER_LAYER, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, OCI_CONFIG, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD } from './mediatypes.js';
import type { Descriptor, ImageConfig, ImageManifest, ManifestFormat } from './types.js';

export interface BuiltImage {
  config: { bytes: Buffer; digest: string };
  manifest: { bytes: Buffer; digest: string; mediaType: string };
}

/** A layer media type in the requested format (OCI ⇄ Docker names for the same bytes). */
export function layerMediaType(mediaType: string, format: ManifestFormat): string {
  const compression = mediaType.endsWith('gzip') ? 'gzip' : mediaType.endsWith('zstd') ? 'zstd' : 'none';
  if (format === 'oci') return compression === 'gzip' ? OCI_LAYER_GZIP : compression === 'zstd' ? OCI_LAYER_ZSTD : OCI_LAYER;
  if (compression === 'zstd') throw new Error('zstd layers cannot be described in a Docker schema 2 manifest; use --format oci');
  return compression === 'gzip' ? DOCKER_LAYER_GZIP : DOCKER_LAYER;
}

export function buildImage(config: ImageConfig, layers: Descriptor[], format: ManifestFormat, annotations?: Record<string, string>): BuiltImage {
  const configBytes = canonicalJson(config);
  const configDigest = sha256(configBytes);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: format === 'oci' ? 'application/vnd.oci.image.manifest.v1+json' : DOCKER_MANIFEST,
    config: { mediaType: format === 'oci' ? OCI_CONFIG : DOCKER_CONFIG, digest: configDigest, size: configBytes.length },
    layers: layers.map((l) => ({ mediaType: layerMediaType(l.mediaType, format), digest: l.digest, size: l.size })),
  };
  if (annotations && Object.keys(annotations).length > 0) {
    if (format === 'docker') throw new Error('annotations need an OCI manifest; use --format oci');
    manifest.annotations = annotations;
  }
  const manifestBytes = canonicalJson(manifest);
  return {
    config: { bytes: configBytes, digest: configDigest },
    manifest: { bytes: manifestBytes, digest: sha256(manifestBytes), mediaType: manifest.mediaType! },
  };
}
