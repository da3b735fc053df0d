// Chroot isolation has no overlay: a RUN step needs its stage's rootfs as a plain directory, and
// copying the whole rootfs for every RUN cost seconds per step on a 20k-file image. So a stage keeps
// its directory from one RUN to the next: once a step's changes are committed as a layer, the
// directory holds exactly the stage's layers so far, and the next RUN only merges what was added
// since (COPY/ADD layers, cache hits). A directory whose state is in doubt (failed step, a layer
// that differs from the tree: clamped times, left-out sockets) is thrown away, and the next RUN
// copies afresh.
import { promises as fsp } from 'node:fs';
import type { Store } from '../../cache/store.js';
import { materialize, mergeOnto } from '../../cache/snapshot-copy.js';
import type { LayerRef } from '../solve/stage-state.js';

/** A stage's rootfs directory, lent to one RUN step. */
export interface WorkingRoot {
  dir: string;
  /** The step is over and `dir` now holds exactly `layers`: lend it to the stage's next RUN. */
  keep(layers: readonly LayerRef[]): void;
  /** The step is over: unless kept, remove the directory. Safe to call more than once. */
  release(): Promise<void>;
}

interface Held {
  dir: string;
  /** diffIDs of the layers the directory holds, lowest first. */
  layers: string[];
}

const idsOf = (layers: readonly LayerRef[]) => layers.map((l) => l.diffID);

export class ChrootRoots {
  private readonly held = new Map<number, Held>();

  constructor(private readonly store: Store) {}

  /**
   * The rootfs of `layers` (unpacked as the snapshot dirs `lowers`) for a RUN of stage `stage`: the
   * stage's kept directory brought up to date, else a fresh copy.
   */
  async take(stage: number, layers: readonly LayerRef[], lowers: readonly string[]): Promise<WorkingRoot> {
    const ids = idsOf(layers);
    const prev = this.held.get(stage);
    this.held.delete(stage);
    let dir: string;
    if (prev && prev.layers.length <= ids.length && prev.layers.every((d, i) => d === ids[i])) {
      dir = prev.dir;
      await this.fill(dir, () => mergeOnto(lowers.slice(prev.layers.length), dir));
    } else {
      if (prev) await this.store.removeTempDir(prev.dir);
      dir = await this.store.makeTempDir('chroot');
      await fsp.chmod(dir, 0o755);
      await this.fill(dir, () => materialize([...lowers], dir));
    }
    let state: 'lent' | 'kept' | 'released' = 'lent';
    return {
      dir,
      keep: (now) => {
        if (state !== 'lent') return;
        state = 'kept';
        this.held.set(stage, { dir, layers: idsOf(now) });
      },
      release: async () => {
        if (state !== 'lent') return;
        state = 'released';
        await this.store.removeTempDir(dir);
      },
    };
  }

  /** The stage is over: its directory is no longer needed. */
  async releaseStage(stage: number): Promise<void> {
    const h = this.held.get(stage);
    this.held.delete(stage);
    if (h) await this.store.removeTempDir(h.dir);
  }

  /** The build is over (or failed): remove every kept directory. */
  async dispose(): Promise<void> {
    await Promise.all([...this.held.keys()].map((s) => this.releaseStage(s)));
  }

  private async fill(dir: string, copy: () => Promise<unknown>): Promise<void> {
    try {
      await copy();
    } catch (e) {
      await this.store.removeTempDir(dir).catch(() => undefined);
      throw e;
    }
  }
}
