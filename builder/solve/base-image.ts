// Resolving a FROM (or COPY --from) image reference to an image in the local store, pulling it
// through a transport when it is not there (or always, with --pull=always).
import { UserError } from '../../oci/errors.js';
import { normalizeReference, parseReference, ReferenceError } from '../../oci/reference.js';
import type { ImageConfig, ImageManifest } from '../../oci/types.js';
import type { Store } from '../../cache/store.js';
import type { ImageRecord } from '../../cache/images.js';
import { findImage } from '../../cache/lookup.js';
import type { LayerRef } from './stage-state.js';

export type PullPolicy = 'missing' | 'always' | 'never';

export interface ResolvedImage {
  record: ImageRecord;
  manifest: ImageManifest;
  config: ImageConfig;
  layers: LayerRef[];
}

/**
 * Pulls an image into the store; set by whoever wires transports in (keeps builder/ free of registry
 * code). `ref` is a transport reference, a full name, or a short name exactly as written in FROM,
 * which the puller resolves (registries.conf search). `candidates`, when given, lists the full names
 * a short name may mean, so an image pulled through one of them is found in the store next time.
 */
export type Puller = ((ref: string, store: Store) => Promise<ImageRecord>) & {
  candidates?: (shortName: string) => Promise<string[]>;
};

const TRANSPORT_PREFIX = /^(oci|oci-archive|docker-archive|docker):/;

export async function loadImage(store: Store, record: ImageRecord): Promise<ResolvedImage> {
  const manifest = await store.images.readManifest(record);
  const config = await store.images.readConfig(record);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw new UserError(`image ${record.names[0] ?? record.id}: config lists ${diffIds.length} layers but the manifest has ${manifest.layers.length}`);
  }
  const layers = manifest.layers.map((l, i) => ({ diffID: diffIds[i], digest: l.digest, size: l.size, mediaType: l.mediaType }));
  return { record, manifest, config, layers };
}

export async function resolveImage(store: Store, ref: string, opts: { pull: PullPolicy; puller?: Puller; location?: { file: string; line: number } }): Promise<ResolvedImage> {
  if (TRANSPORT_PREFIX.test(ref)) {
    if (!opts.puller) throw new UserError(`cannot read ${ref}: no transports are available`, { location: opts.location });
    return loadImage(store, await opts.puller(ref, store));
  }
  let name: string | undefined;
  try {
    name = normalizeReference(ref);
  } catch (e) {
    // Not a name: it may still be an image ID (prefix).
    if (!(e instanceof ReferenceError)) throw e;
  }
  // A short name (no registry host) is left for the puller to resolve, as podman does.
  const short = name !== undefined && !parseReference(ref).qualified;
  let record = opts.pull === 'always' && name ? undefined : await findImage(store, ref);
  if (!record && short && opts.pull !== 'always' && opts.puller?.candidates) {
    // Not found as localhost/NAME or docker.io/library/NAME: maybe pulled earlier from a search registry.
    const names = await opts.puller.candidates(ref).catch(() => [] as string[]);
    for (const n of names) if (!record) record = await store.images.resolve(n);
  }
  if (!record) {
    if (opts.pull === 'never') {
      throw new UserError(`${ref}: image not known in the local store (and --pull=never)`, { location: opts.location });
    }
    if (!name) throw new UserError(`invalid image reference "${ref}"`, { location: opts.location });
    if (!opts.puller) throw new UserError(`${name}: image not known in the local store; import it first with "tsbuild pull"`, { location: opts.location });
    record = await opts.puller(short ? ref : 'docker://' + name, store);
  }
  return loadImage(store, record);
}
