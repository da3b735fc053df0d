// Removing images the way podman's rmi does: a name removes that name only while the image has
// others (with or without force); the image itself goes with its last name, or when given by ID.
// By ID, an image with several names needs force, so one command never drops names nobody typed.
import { UserError } from '../oci/errors.js';
import { requireImageMatch } from './lookup.js';
import type { Store } from './store.js';

export interface RemoveImageResult {
  /** Names removed, in the order podman prints its "Untagged:" lines. */
  untagged: string[];
  /** The image ID, when the image itself was removed. */
  deleted?: string;
}

export async function removeImage(store: Store, nameOrId: string, opts: { force?: boolean } = {}): Promise<RemoveImageResult> {
  const { record, name } = await requireImageMatch(store, nameOrId);
  if (record.names.length > 1) {
    if (name !== undefined) {
      await store.images.untag(name);
      return { untagged: [name] };
    }
    if (!opts.force) {
      throw new UserError(`image ${record.id.slice(0, 12)} has several names (${record.names.join(', ')}): remove them by name, or by ID with --force`);
    }
  }
  await store.images.remove(record.id);
  return { untagged: record.names, deleted: record.id };
}
