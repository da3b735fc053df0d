// An image held in memory, as an ImageSource. Small images made in code (tests, scratch images,
// tools that synthesise one layer) go through the same copyImage path as everything else.
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { sha256 } from '../oci/digest.js';
import { UserError } from '../oci/errors.js';
import { layerMediaType, manifestMediaType } from '../oci/convert.js';
import { DOCKER_CONFIG, OCI_CONFIG } from '../oci/mediatypes.js';
import type { Descriptor, ImageConfig, ImageManifest, ManifestFormat } from '../oci/types.js';
import type { ImageSource, ManifestBytes } from './transport.js';

export class MemorySource implements ImageSource {
  constructor(
    readonly reference: string,
    readonly manifest: ManifestBytes,
    readonly blobs: Map<string, Buffer>,
  ) {}

  async getManifest(): Promise<ManifestBytes> {
    return this.manifest;
  }

  async getBlob(desc: Descriptor): Promise<Readable> {
    const b = this.blobs.get(desc.digest);
    if (!b) throw new UserError(`${this.reference}: no blob ${desc.digest}`);
    return Readable.from([b]);
  }

  async close(): Promise<void> {}
}

export interface MemoryImageSpec {
  /** Uncompressed layer tars, bottom first. */
  layers: Buffer[];
  /** Config without rootfs (filled in from the layers). */
  config: Omit<ImageConfig, 'rootfs'>;
  format?: ManifestFormat;
  gzip?: boolean;
  reference?: string;
}

/** Assemble manifest, config and (optionally gzipped) layers into a MemorySource. */
export function memoryImage(spec: MemoryImageSpec): MemorySource {
  const format = spec.format ?? 'oci';
  const blobs = new Map<string, Buffer>();
  const layers: Descriptor[] = spec.layers.map((tar) => {
    const blob = spec.gzip === false ? tar : gzipSync(tar);
    const digest = sha256(blob);
    blobs.set(digest, blob);
    return { mediaType: layerMediaType(format, spec.gzip === false ? 'none' : 'gzip'), digest, size: blob.length };
  });
  const config: ImageConfig = { ...spec.config, rootfs: { type: 'layers', diff_ids: spec.layers.map((t) => sha256(t)) } };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = sha256(configBytes);
  blobs.set(configDigest, configBytes);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: manifestMediaType(format),
    config: { mediaType: format === 'oci' ? OCI_CONFIG : DOCKER_CONFIG, digest: configDigest, size: configBytes.length },
    layers,
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return new MemorySource(spec.reference ?? 'memory', { bytes, mediaType: manifest.mediaType!, digest: sha256(bytes) }, blobs);
}
