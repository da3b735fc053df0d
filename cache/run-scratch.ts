// Per-RUN scratch space in the store's tmp dir (named with our pid, so a killed build's leftovers are
// removed by the next openStore): the overlay upper dir (which becomes the layer), overlay's work
// dir (same filesystem as the upper, as overlayfs requires), and room for secrets, inline scripts
// and copies that the step bind-mounts.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Store } from './store.js';

export interface RunScratch {
  dir: string;
  upper: string;
  work: string;
  /** A fresh subdirectory for one purpose (secrets, pipes, a bind copy...). */
  sub(name: string, mode?: number): Promise<string>;
  remove(): Promise<void>;
}

export async function makeRunScratch(store: Store, root?: { mode: number; uid: number; gid: number }): Promise<RunScratch> {
  const dir = await store.makeTempDir('run');
  const upper = join(dir, 'upper');
  const work = join(dir, 'work');
  await fsp.mkdir(upper);
  await fsp.mkdir(work);
  // The merged root directory takes the upper dir's own attributes: give it the image's.
  if (root) {
    await fsp.chmod(upper, root.mode);
    if ((process.getuid?.() ?? 0) === 0) await fsp.chown(upper, root.uid, root.gid);
  }
  let n = 0;
  return {
    dir,
    upper,
    work,
    async sub(name: string, mode = 0o755) {
      const p = join(dir, `${name}-${n++}`);
      await fsp.mkdir(p, { mode });
      await fsp.chmod(p, mode);
      return p;
    },
    remove: () => store.removeTempDir(dir),
  };
}
