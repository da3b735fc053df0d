// Adding a name to a stored image, normalised as podman does (`app` is localhost/app:latest) and
// refused with one clear line when it is no valid reference.
import { normalizeLocalName } from '../oci/reference.js';
import { UserError } from '../oci/errors.js';
import { requireImageMatch } from './lookup.js';
import type { Store } from './store.js';

/** `name` normalised; a UserError "invalid <what> ..." when it is no valid reference. */
export function normalizeImageName(name: string, what = 'image name'): string {
  try {
    return normalizeLocalName(name);
  } catch (e) {
    throw new UserError(`invalid ${what} "${name}": ${(e as Error).message}`);
  }
}

/** Give the image (name or ID) the name `name`; returns the name as stored. */
export async function tagImage(store: Store, image: string, name: string): Promise<string> {
  const normalized = normalizeImageName(name);
  const { record } = await requireImageMatch(store, image);
  await store.images.tag(record.id, normalized);
  return normalized;
}
