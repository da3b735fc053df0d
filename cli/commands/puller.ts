// How `build` pulls a base image that is not in the store: through the same library pull(), with
// the build's registry flags and platform; short names go through registries.conf like `pull`.
import { pullImage, shortNameCandidates, type TransferOptions } from '../../registry/api.js';
import type { Puller } from '../../builder/solve/base-image.js';

export function storePuller(opts: TransferOptions = {}): Puller {
  const puller: Puller = async (ref, store) => (await pullImage(store, ref, opts)).record;
  puller.candidates = (name) => shortNameCandidates(name, opts.registry);
  return puller;
}
