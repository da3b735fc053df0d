// Manifest conversion between OCI image-spec and Docker schema 2. Pure: blob bytes never change,
// only the media types that describe them, so digests of config and layers stay valid.
import { UserError } from './errors.js';
import {
  DOCKER_CONFIG,
  DOCKER_LAYER,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  OCI_CONFIG,
  OCI_LAYER,
  OCI_LAYER_GZIP,
  OCI_LAYER_ZSTD,
  OCI_MANIFEST,
  type Compression,
} from './mediatypes.js';
import type { Descriptor, ImageManifest, ManifestFormat } from './types.js';

const OCI_NONDIST_GZIP = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';
const OCI_NONDIST = 'application/vnd.oci.image.layer.nondistributable.v1.tar';
const DOCKER_FOREIGN_GZIP = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';

const OCI_TO_DOCKER: Record<string, string> = {
  [OCI_LAYER_GZIP]: DOCKER_LAYER_GZIP,
  [OCI_LAYER]: DOCKER_LAYER,
  [OCI_NONDIST_GZIP]: DOCKER_FOREIGN_GZIP,
};
const DOCKER_TO_OCI: Record<string, string> = {
  [DOCKER_LAYER_GZIP]: OCI_LAYER_GZIP,
  [DOCKER_LAYER]: OCI_LAYER,
  [DOCKER_FOREIGN_GZIP]: OCI_NONDIST_GZIP,
};

/** Which family a manifest media type belongs to; undefined for anything that is not an image manifest. */
export function manifestFormatOf(mediaType: string | undefined): ManifestFormat | undefined {
  if (mediaType === OCI_MANIFEST) return 'oci';
  if (mediaType === DOCKER_MANIFEST) return 'docker';
  return undefined;
}

export function manifestMediaType(format: ManifestFormat): string {
  return format === 'oci' ? OCI_MANIFEST : DOCKER_MANIFEST;
}

/** The layer media type for a compression in a format (zstd has no Docker spelling). */
export function layerMediaType(format: ManifestFormat, compression: Compression): string {
  if (format === 'oci') return compression === 'gzip' ? OCI_LAYER_GZIP : compression === 'zstd' ? OCI_LAYER_ZSTD : OCI_LAYER;
  if (compression === 'zstd') throw new UserError('zstd-compressed layers cannot be stored in a Docker schema 2 manifest; use the OCI format');
  return compression === 'gzip' ? DOCKER_LAYER_GZIP : DOCKER_LAYER;
}

function layerToDocker(d: Descriptor): Descriptor {
  const mediaType = DOCKER_TO_OCI[d.mediaType] ? d.mediaType : OCI_TO_DOCKER[d.mediaType];
  if (!mediaType) {
    const why = d.mediaType === OCI_LAYER_ZSTD ? 'zstd-compressed layers have no Docker schema 2 media type' : `layer media type ${d.mediaType} has no Docker schema 2 equivalent`;
    throw new UserError(`cannot convert the manifest to Docker schema 2: ${why}; use the OCI format`);
  }
  // Docker schema 2 descriptors carry no annotations; urls are how foreign layers are found, so keep them.
  return { mediaType, size: d.size, digest: d.digest, ...(d.urls ? { urls: d.urls } : {}) };
}

function layerToOci(d: Descriptor): Descriptor {
  const mediaType = OCI_TO_DOCKER[d.mediaType] || d.mediaType === OCI_LAYER_ZSTD || d.mediaType === OCI_NONDIST ? d.mediaType : DOCKER_TO_OCI[d.mediaType];
  if (!mediaType) throw new UserError(`cannot convert the manifest to OCI: unknown layer media type ${d.mediaType}`);
  return { mediaType, digest: d.digest, size: d.size, ...(d.urls ? { urls: d.urls } : {}), ...(d.annotations ? { annotations: d.annotations } : {}) };
}

/**
 * Rewrite a manifest in the other format. Converting to the format it already has returns an equal
 * manifest (callers should keep the original bytes then, so the digest does not change).
 */
export function convertManifest(m: ImageManifest, to: ManifestFormat): ImageManifest {
  const configType = m.config.mediaType;
  if (configType !== OCI_CONFIG && configType !== DOCKER_CONFIG) {
    throw new UserError(`cannot convert a manifest whose config is ${configType}: not a container image`);
  }
  if (to === 'docker') {
    return {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { mediaType: DOCKER_CONFIG, size: m.config.size, digest: m.config.digest },
      layers: m.layers.map(layerToDocker),
    };
  }
  const out: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: m.config.digest, size: m.config.size },
    layers: m.layers.map(layerToOci),
  };
  if (m.annotations) out.annotations = m.annotations;
  return out;
}
