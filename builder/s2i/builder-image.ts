// The builder image: found in (or pulled into) the store per --pull-policy, with S2I's exit codes:
// missing under `never` is 1, a failed pull is 2 (§M).
import type { ImageConfig, ContainerConfig } from '../../oci/types.js';
import type { ImageRecord } from '../../cache/images.js';
import type { Store } from '../../cache/store.js';
import { UserError } from '../../oci/errors.js';
import { localCandidates } from '../../oci/reference.js';
import { resolveImage, type Puller } from '../solve/base-image.js';

export type PullPolicyS2I = 'always' | 'never' | 'if-not-present';

export interface BuilderInfo {
  record: ImageRecord;
  config: ImageConfig;
  /** the name it is known by in the store (what io.openshift.s2i.build.image reports) */
  name: string;
}

export function toPullPolicy(p: PullPolicyS2I): 'always' | 'never' | 'missing' {
  return p === 'if-not-present' ? 'missing' : p;
}

export async function inspectBuilder(store: Store, ref: string, policy: PullPolicyS2I, puller: Puller | undefined): Promise<BuilderInfo> {
  let resolved;
  try {
    resolved = await resolveImage(store, ref, { pull: toPullPolicy(policy), ...(puller ? { puller } : {}) });
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    if (policy === 'never') throw new UserError(`unable to get metadata for ${ref}: ${e.message}`, { exitCode: 1, cause: e });
    throw new UserError(`unable to get ${ref}: ${e.message}`, { exitCode: 2, cause: e });
  }
  // The reference as the store knows it (localhost/NAME or docker.io/library/NAME for a short name).
  let candidates: string[] = [];
  try {
    candidates = localCandidates(ref);
  } catch {
    candidates = [];
  }
  const name = candidates.find((c) => resolved.record.names.includes(c)) ?? resolved.record.names[0] ?? candidates[candidates.length - 1] ?? resolved.record.id;
  return { record: resolved.record, config: resolved.config, name };
}

/** --assemble-user, else the builder's io.openshift.s2i.assemble-user label, else its USER (§H-1). '' = root. */
export function resolveAssembleUser(flag: string | undefined, cfg: ContainerConfig): string {
  if (flag) return flag;
  const label = cfg.Labels?.['io.openshift.s2i.assemble-user'];
  if (label) return label;
  return cfg.User ?? '';
}
