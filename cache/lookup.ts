// Finding an image in the store the way podman does: by full name, by short name (localhost/NAME,
// then docker.io/library/NAME), by full ID, or by an unambiguous ID prefix.
import { UserError } from '../oci/errors.js';
import { localCandidates } from '../oci/reference.js';
import type { ImageRecord } from './images.js';
import type { Store } from './store.js';

export interface ImageMatch {
  record: ImageRecord;
  /**
   * The stored name the reference resolved to; undefined when it was an ID. Several commands act
   * on that name rather than the whole image (rmi untags it; a docker-archive push records it).
   */
  name?: string;
}

export async function findImageMatch(store: Store, nameOrId: string): Promise<ImageMatch | undefined> {
  let names: string[] = [];
  try {
    names = localCandidates(nameOrId);
  } catch {
    names = [];
  }
  for (const name of names) {
    const record = await store.images.resolve(name);
    if (record) return { record, name };
  }
  const id = nameOrId.startsWith('sha256:') ? nameOrId.slice(7) : nameOrId;
  if (!/^[a-f0-9]{3,64}$/.test(id)) return undefined;
  const record = await store.images.resolve(id);
  return record && { record };
}

export async function requireImageMatch(store: Store, nameOrId: string): Promise<ImageMatch> {
  const match = await findImageMatch(store, nameOrId);
  if (!match) throw new UserError(`${nameOrId}: image not known`);
  return match;
}

export async function findImage(store: Store, nameOrId: string): Promise<ImageRecord | undefined> {
  return (await findImageMatch(store, nameOrId))?.record;
}

export async function requireImage(store: Store, nameOrId: string): Promise<ImageRecord> {
  return (await requireImageMatch(store, nameOrId)).record;
}
