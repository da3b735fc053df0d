// The tsbuild library: what the CLI is a thin client of.
//
//   import { build, pull, push, openStore } from 'tsbuild';
//   const store = await openStore('/var/lib/tsbuild');
//   await pull(store, 'docker-archive:/tmp/busybox.tar');
//   const image = await build({ context: '.', store, tags: ['my-app'] });
//   await push(store, image.id, 'oci-archive:/tmp/my-app.tar');
//
// build() reports progress through `onEvent` (BuildEvent), pull()/push() through `onEvent`
// (TransferEvent): the same typed events the CLI renders and writes with --progress=json.
import type { Store } from './cache/store.js';
import { requireImageMatch } from './cache/lookup.js';
import { pullImage, pushImage, type TransferOptions } from './registry/api.js';

export { build, type BuildOptions, type BuildResult } from './builder/build.js';
export type { BuildEvent, EventSink, TransferEvent, ProgressEvent } from './builder/events.js';
export { openStore, defaultStoreRoot, type Store } from './cache/store.js';
export type { ImageRecord } from './cache/images.js';
export { findImage } from './cache/lookup.js';
export { listImages, type ImageSummary } from './cache/image-list.js';
export { removeImage, type RemoveImageResult } from './cache/image-remove.js';
export { UserError, StepFailedError, isUserError, type SourceLocation } from './oci/errors.js';
export type { ImageConfig, ImageManifest, Descriptor, Platform } from './oci/types.js';
export type { TransferOptions } from './registry/api.js';

/** Copy an image into the store from `oci:`, `oci-archive:`, `docker-archive:` or `docker://` (a bare name means docker://). */
export async function pull(store: Store, source: string, opts: TransferOptions = {}) {
  return (await pullImage(store, source, opts)).record;
}

/**
 * Copy a stored image (name or ID) to a transport destination. A `docker-archive:FILE` that names no
 * image records the name `image` resolved to (none when it is an ID).
 */
export async function push(store: Store, image: string, destination: string, opts: TransferOptions = {}) {
  const { record, name } = await requireImageMatch(store, image);
  return pushImage(store, record, destination, { ...opts, name });
}
