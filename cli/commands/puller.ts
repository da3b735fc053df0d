// How `build` pulls a base image that is not in the store: through the same library pull(), with
// the build's registry flags and platform; short names go through registries.conf like `pull`.
import type { TransferOptions } from '../../registry/api.js';
import type { Puller } from '../../builder/solve/base-image.js';

export function storePuller(opts: TransferOptions = {}): Puller {
  // The registry code is loaded only when a base image is missing.
  const api = () => import('../../registry/api.js');
  const puller: Puller = async (ref, store) => (await (await api()).pullImage(store, ref, opts)).record;
  puller.candidates = async (name) => (await api()).shortNameCandidates(name, opts.registry);
  return puller;
}
