// WORKDIR creates its directory when the stage's filesystem lacks it (BuildKit: owned by the
// current USER, mode 0755, parents included); an existing directory costs no layer.
import { UserError } from '../../oci/errors.js';
import type { LayerEntry } from '../../cache/layers.js';
import type { Instruction } from '../containerfile/index.js';
import type { StepContext } from '../solve/solver.js';
import { currentWorkdir, type LayerRef } from '../solve/stage-state.js';
import { resolveOwner } from './copy-owner.js';
import { commitEntries, stepNow } from './layer-commit.js';

export async function workdirStep(ins: Instruction, ctx: StepContext): Promise<LayerRef | undefined> {
  const view = await ctx.rootfs(ctx.state);
  const wanted = currentWorkdir(ctx.state);
  if (wanted === '/') return undefined;
  const resolved = await view.resolve(wanted, true);
  const existing = await view.lstat(resolved);
  if (existing) {
    if (existing.type !== 'dir') throw new UserError(`WORKDIR ${wanted}: exists and is not a directory`, { location: ins.pos });
    return undefined;
  }
  const user = ctx.state.image.config.User;
  const owner = user ? await resolveOwner(user, view, ins.pos) : { uid: 0, gid: 0 };
  const now = stepNow(ctx);
  const entries: LayerEntry[] = [];
  // Walk down from the root: existing ancestors are kept as they are (with their metadata, as an
  // overlay copy-up would), missing ones are created.
  const parts = resolved.split('/').filter(Boolean);
  let path = '';
  for (const part of parts) {
    path = path ? `${path}/${part}` : part;
    const st = await view.lstat('/' + path);
    if (st) {
      if (st.type !== 'dir') throw new UserError(`WORKDIR ${wanted}: /${path} exists and is not a directory`, { location: ins.pos });
      entries.push({ path, type: 'dir', mode: st.mode, uid: st.uid, gid: st.gid, mtime: st.mtime });
    } else {
      entries.push({ path, type: 'dir', mode: 0o755, uid: owner.uid, gid: owner.gid, mtime: now });
    }
  }
  return commitEntries(entries, ctx);
}
