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
  return (await tagImageNames(store, image, [name]))[0]!;
}

/** Give the image every one of `names`, all checked before any is added; returns them as stored. */
export async function tagImageNames(store: Store, image: string, names: readonly string[]): Promise<string[]> {
  const normalized = names.map((n) => normalizeImageName(n));
  const { record } = await requireImageMatch(store, image);
  for (const n of normalized) await store.images.tag(record.id, n);
  return normalized;
}
