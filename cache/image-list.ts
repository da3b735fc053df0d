// The images in the store as `images` lists them: each with the time the image was created (its
// config's `created`, what buildah and podman show), not when it entered this store, newest first.
import type { ImageRecord } from './images.js';
import type { Store } from './store.js';

export interface ImageSummary {
  record: ImageRecord;
  /**
   * ISO time from the image config; when the config has none (it is optional in the OCI spec), the
   * time the image entered the store, as containers/storage records a pulled image without one.
   */
  created: string;
  /** Bytes as stored: config and (compressed) layers. */
  size: number;
}

function configCreated(created: string | undefined, fallback: string): string {
  return created !== undefined && !Number.isNaN(Date.parse(created)) ? created : fallback;
}

/** Every image, newest first by created (ties: the one stored last first). */
export async function listImages(store: Store): Promise<ImageSummary[]> {
  const records = await store.images.list();
  const out = await Promise.all(
    records.map(async (record): Promise<ImageSummary> => {
      const [manifest, config] = await Promise.all([store.images.readManifest(record), store.images.readConfig(record)]);
      const size = manifest.config.size + manifest.layers.reduce((a, l) => a + l.size, 0);
      return { record, created: configCreated(config.created, record.created), size };
    }),
  );
  const time = (iso: string) => Date.parse(iso) || 0;
  return out.sort((a, b) => time(b.created) - time(a.created) || time(b.record.created) - time(a.record.created));
}
