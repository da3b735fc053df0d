// How a build pulls a base image that is not in the store: through the library's pull(), with the
// build's registry options and platform; short names go through registries.conf as `pull` does.
// Builder code takes a Puller and stays free of registry code; this is the one the library's build()
// and s2iBuild() use unless given another, and the CLI's.
import type { Puller } from '../builder/solve/base-image.js';
import type { TransferOptions } from './api.js';

export function storePuller(opts: TransferOptions = {}): Puller {
  // The registry code is loaded only when a base image is missing.
  const api = () => import('./api.js');
  const puller: Puller = async (ref, store) => (await (await api()).pullImage(store, ref, opts)).record;
  puller.candidates = async (name) => (await api()).shortNameCandidates(name, opts.registry);
  return puller;
}
