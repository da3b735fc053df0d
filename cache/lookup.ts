// Finding an image in the store the way podman does: by full name, by short name (localhost/NAME,
// then docker.io/library/NAME), by full ID, or by an unambiguous ID prefix.
import { UserError } from '../oci/errors.js';
import { localCandidates } from '../oci/reference.js';
import type { ImageRecord } from './images.js';
import type { Store } from './store.js';

export async function findImage(store: Store, nameOrId: string): Promise<ImageRecord | undefined> {
  let names: string[] = [];
  try {
    names = localCandidates(nameOrId);
  } catch {
    names = [];
  }
  for (const name of names) {
    const byName = await store.images.resolve(name);
    if (byName) return byName;
  }
  const id = nameOrId.startsWith('sha256:') ? nameOrId.slice(7) : nameOrId;
  if (/^[a-f0-9]{3,64}$/.test(id)) return store.images.resolve(id);
  return undefined;
}

export async function requireImage(store: Store, nameOrId: string): Promise<ImageRecord> {
  const rec = await findImage(store, nameOrId);
  if (!rec) throw new UserError(`${nameOrId}: image not known`);
  return rec;
}
