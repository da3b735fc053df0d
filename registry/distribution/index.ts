// The docker:// transport: ImageSource / ImageDestination on a Distribution-API registry.
import type { ImageDestination, ImageSource, TransportReference } from '../transport.js';
import { loadRegistriesConf, pullEndpoints, pushEndpoint } from '../registries-conf.js';
import { RegistryDestination } from './destination.js';
import { clientFor, parseDockerReference, type RegistryOptions } from './options.js';
import { RegistrySource } from './source.js';

export type { RegistryOptions } from './options.js';
export type { ProgressEvent } from './progress.js';
export { RegistrySource } from './source.js';
export { RegistryDestination } from './destination.js';
export { hostPlatform, selectManifest } from './platform.js';
export { BlobLocations } from './blob-locations.js';

export async function openRegistrySource(ref: TransportReference, opts: RegistryOptions = {}): Promise<ImageSource> {
  const { ref: r, text } = parseDockerReference(ref);
  const conf = await loadRegistriesConf(opts.registriesConf);
  const eps = pullEndpoints(conf, r, text);
  const clients = await Promise.all(eps.map((ep) => clientFor(ep, text, opts, false)));
  return new RegistrySource(text, clients, r.digest ?? r.tag ?? 'latest', opts.platform);
}

export async function openRegistryDestination(ref: TransportReference, opts: RegistryOptions = {}): Promise<ImageDestination> {
  const { ref: r, text } = parseDockerReference(ref);
  const conf = await loadRegistriesConf(opts.registriesConf);
  const ep = pushEndpoint(conf, r, text);
  const client = await clientFor(ep, text, opts, true);
  client.startPing();
  return new RegistryDestination(text, client, r.digest ? undefined : r.tag, r.digest, { chunkSize: opts.chunkSize, singleRequestMax: opts.singleRequestMax }, opts.concurrency);
}

