// Rewriting an image's config without touching its layers: a new config blob and a new manifest
// (same layers, same format) are written, then the record is added under the given names. Generic
// enough to move to builder/ when another feature needs it.
import { buildImage } from '../../oci/manifest.js';
import { DOCKER_MANIFEST } from '../../oci/mediatypes.js';
import type { ImageConfig } from '../../oci/types.js';
import type { ImageRecord } from '../../cache/images.js';
import type { Store } from '../../cache/store.js';

export interface RewrittenImage {
  record: ImageRecord;
  config: ImageConfig;
  manifestDigest: string;
}

export async function rewriteImageConfig(store: Store, rec: ImageRecord, patch: (config: ImageConfig) => ImageConfig, names: string[]): Promise<RewrittenImage> {
  const manifest = await store.images.readManifest(rec);
  const config = patch(structuredClone(await store.images.readConfig(rec)));
  const format = (manifest.mediaType ?? rec.manifestMediaType) === DOCKER_MANIFEST ? 'docker' : 'oci';
  const built = buildImage(config, manifest.layers, format, manifest.annotations);
  await store.blobs.putBytes(built.config.bytes, { digest: built.config.digest });
  await store.blobs.putBytes(built.manifest.bytes, { digest: built.manifest.digest });
  const record = await store.images.add({ bytes: built.manifest.bytes, mediaType: built.manifest.mediaType }, names);
  return { record, config, manifestDigest: built.manifest.digest };
}
