// RUN's own flags: --network, --security and --mount (values expanded with the stage's ARG/ENV, as
// BuildKit does for these flags).
import { UserError } from '../../oci/errors.js';
import { expandWord } from '../containerfile/index.js';
import { currentWorkdir, expansionLookup, type StageState } from '../solve/stage-state.js';
import type { RunInstruction } from './run-command.js';
import { parseMount, type MountReq } from './mounts-parse.js';
import type { RunNetwork } from './run-options.js';

export interface RunFlags {
  /** undefined: the build's default */
  network?: RunNetwork;
  mounts: MountReq[];
}

export function parseRunFlags(ins: RunInstruction, state: StageState): RunFlags {
  const lookup = expansionLookup(state);
  const word = (w: string | null) => expandWord(w ?? '', lookup, state.escape, ins.pos);
  const out: RunFlags = { mounts: [] };
  for (const f of ins.flags) {
    const v = word(f.value);
    switch (f.name) {
      case 'network':
        if (v === 'default') out.network = undefined;
        else if (v === 'none') out.network = 'none';
        else if (v === 'host') out.network = 'host';
        else throw new UserError(`unsupported network mode "${v}": expected default, none or host`, { location: ins.pos });
        break;
      case 'security':
        if (v === 'sandbox') break;
        if (v === 'insecure') throw new UserError('RUN --security=insecure is not supported', { location: ins.pos });
        throw new UserError(`unsupported security mode "${v}"`, { location: ins.pos });
      case 'mount':
        out.mounts.push(parseMount(v, currentWorkdir(state), ins.pos));
        break;
      default:
        throw new UserError(`unknown flag: --${f.name}`, { location: ins.pos });
    }
  }
  const targets = new Set<string>();
  for (const m of out.mounts) {
    if (m.type === 'secret' && m.target === '') continue;
    if (targets.has(m.target)) throw new UserError(`mount target "${m.target}" is used twice`, { location: ins.pos });
    targets.add(m.target);
  }
  return out;
}
