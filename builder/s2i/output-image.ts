// The output image's config as `s2i build` commits it (§F), the same for a builder-based image and
// for the runtime image of an extended build (§K-2: "the same label/env rules, the runtime image's
// user/entrypoint"): labels of the base image, then the generated ones, then those the scripts wrote
// to /tmp/.s2i/image_metadata.json in the image being committed; the base's ENTRYPOINT (none stays
// none) and USER; exec-form CMD of the run script. The environment is already in place (ENV lines).
import type { ImageRecord } from '../../cache/images.js';
import type { Store } from '../../cache/store.js';
import type { ContainerConfig } from '../../oci/types.js';
import { readImageFile } from './artifacts.js';
import { rewriteImageConfig, type RewrittenImage } from './image-config.js';
import { checkLabelSize, parseImageMetadata } from './labels.js';

export interface OutputConfig {
  /** config of the image the output is based on (builder, or runtime image) */
  base: ContainerConfig;
  /** io.k8s.display-name, io.openshift.s2i.build.* */
  generated: Record<string, string>;
  /** path of the run script, as the output's CMD */
  run: string;
  tag?: string;
}

export async function finishOutputImage(store: Store, rec: ImageRecord, o: OutputConfig): Promise<RewrittenImage> {
  const metaRaw = await readImageFile(store, rec, '/tmp/.s2i/image_metadata.json');
  const metaLabels = metaRaw ? parseImageMetadata(metaRaw.toString('utf8')) : {};
  const labels = { ...(o.base.Labels ?? {}), ...o.generated, ...metaLabels };
  checkLabelSize(labels);
  const out = await rewriteImageConfig(
    store,
    rec,
    (c) => {
      const cc = { ...(c.config ?? {}) };
      cc.Labels = labels;
      // The base's ENTRYPOINT kept (RUN never used it); none stays none (§F-2).
      if (o.base.Entrypoint && o.base.Entrypoint.length > 0) cc.Entrypoint = o.base.Entrypoint;
      else delete cc.Entrypoint;
      cc.Cmd = [o.run];
      // The base image's USER, not the user the scripts ran as (§F-5, §H-8).
      if (o.base.User) cc.User = o.base.User;
      else delete cc.User;
      return { ...c, config: cc };
    },
    o.tag ? [o.tag] : [],
  );
  if (out.record.id !== rec.id && !rec.names.length) await store.images.remove(rec.id).catch(() => undefined);
  return out;
}
