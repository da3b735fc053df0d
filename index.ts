// The tsbuild library: what the CLI is a thin client of.
//
//   import { build, pull, push, openStore } from 'tsbuild';
//   const store = await openStore('/tmp/tsbuild-store');
//   await pull(store, 'docker-archive:/tmp/busybox.tar');
//   const image = await build({ context: '.', store, tags: ['my-app'] });
//   await push(store, image.id, 'oci-archive:/tmp/my-app.tar');
//
// build() reports progress through `onEvent` (BuildEvent), pull()/push() through `onEvent`
// (TransferEvent): the same typed events the CLI renders and writes with --progress=json.
import { build as buildWith, type BuildOptions as CoreBuildOptions, type BuildResult } from './builder/build.js';
import { s2iBuild as s2iBuildWith, s2iUsage as s2iUsageWith, type S2IBuildOptions as CoreS2IBuildOptions, type S2IBuildResult, type S2IUsageOptions as CoreS2IUsageOptions } from './builder/s2i/index.js';
import { parsePlatform } from './oci/platform.js';
import type { TransferEvent } from './builder/events.js';
import type { Store } from './cache/store.js';
import { requireImageMatch } from './cache/lookup.js';
import { cacheLocation, pullImage, pushImage, type TransferOptions } from './registry/api.js';
import type { RegistryOptions } from './registry/distribution/options.js';
import { storePuller } from './registry/store-puller.js';

export type { BuildResult } from './builder/build.js';
export type { BuildEvent, EventSink, TransferEvent, ProgressEvent } from './builder/events.js';
export type { Puller, PullPolicy } from './builder/solve/base-image.js';
export type { RunNetwork, SecretSource } from './builder/steps/run-options.js';
export type { Isolation } from './native/index.js';
export type { S2IBuildResult, S2IEvent, PullPolicyS2I } from './builder/s2i/index.js';
export { openStore, defaultStoreRoot, type Store } from './cache/store.js';
export type { ImageRecord } from './cache/images.js';
export { findImage } from './cache/lookup.js';
export { listImages, type ImageSummary } from './cache/image-list.js';
export { removeImage, type RemoveImageResult } from './cache/image-remove.js';
export { tagImage as tag } from './cache/image-tag.js';
export { prune, type PruneOptions, type PruneReport } from './cache/gc.js';
export { checkStore, type CheckReport } from './cache/check-store.js';
export { UserError, StepFailedError, isUserError, type SourceLocation } from './oci/errors.js';
export type { ImageConfig, ImageManifest, Descriptor, Platform, ManifestFormat } from './oci/types.js';
export type { TransferOptions } from './registry/api.js';
export type { RegistryOptions } from './registry/distribution/options.js';
export { login, logout, logoutAll, type LoginOptions } from './registry/api.js';
export { storePuller } from './registry/store-puller.js';

export interface BuildOptions extends Omit<CoreBuildOptions, 'cacheFrom' | 'cacheTo'> {
  /** Import the build cache from this image (`docker://`, `oci:`, ..., a bare name is docker://), as --cache-from. */
  cacheFrom?: string | CoreBuildOptions['cacheFrom'];
  /** Export the build cache to this image, as --cache-to. */
  cacheTo?: string | CoreBuildOptions['cacheTo'];
  /**
   * Registry options (credentials, TLS, registries.conf) for pulling base images that are not in
   * the store, when no `puller` is given: FROM of `docker://`, `oci:`, `oci-archive:`,
   * `docker-archive:` or a (short) name then pulls as pull() would.
   */
  registry?: RegistryOptions;
  /** Progress of base images the default puller fetches (what `onEvent` of pull() reports). */
  onPullEvent?: (ev: TransferEvent) => void;
}

/** Build a Containerfile; base images missing from the store are pulled (see BuildOptions.registry). */
export async function build(opts: BuildOptions): Promise<BuildResult> {
  const cache = (ref: string) => cacheLocation(ref, { tmpDir: opts.store?.tmp, registry: opts.registry });
  return buildWith({
    ...opts,
    cacheFrom: typeof opts.cacheFrom === 'string' ? cache(opts.cacheFrom).from : opts.cacheFrom,
    cacheTo: typeof opts.cacheTo === 'string' ? cache(opts.cacheTo).to : opts.cacheTo,
    puller: opts.puller ?? storePuller({ registry: opts.registry, platform: typeof opts.platform === 'string' ? parsePlatform(opts.platform) : undefined, onEvent: opts.onPullEvent, signal: opts.signal }),
  });
}

export interface S2IBuildOptions extends CoreS2IBuildOptions {
  /** Registry options for pulling the builder and runtime images when no `puller` is given. */
  registry?: RegistryOptions;
}

/** Source-to-Image: assemble `source` in the builder image (s2i build). */
export async function s2iBuild(opts: S2IBuildOptions): Promise<S2IBuildResult> {
  return s2iBuildWith({ ...opts, puller: opts.puller ?? storePuller({ registry: opts.registry, signal: opts.signal }) });
}

export interface S2IUsageOptions extends CoreS2IUsageOptions {
  /** Registry options for pulling the builder image when no `puller` is given. */
  registry?: RegistryOptions;
}

/** The builder image's usage script output (s2i usage). */
export async function s2iUsage(opts: S2IUsageOptions): Promise<{ stdout: string }> {
  return s2iUsageWith({ ...opts, puller: opts.puller ?? storePuller({ registry: opts.registry, signal: opts.signal }) });
}

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
