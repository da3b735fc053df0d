// How `build` pulls a base image that is not in the store: through the same library pull().
import { pullImage } from '../../registry/api.js';
import type { Puller } from '../../builder/solve/base-image.js';

export function storePuller(): Puller {
  return async (ref, store) => (await pullImage(store, ref)).record;
}
