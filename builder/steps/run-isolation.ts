// The three runtimes a RUN step can use and, for each, how the step's changes become a layer:
//  - oci / rootless: kernel overlay (lower = the stage's snapshots through short links, a fresh
//    upper); the upper dir *is* the layer (char 0/0 → .wh., opaque xattr → .wh..wh..opq).
//    Rootless with subordinate ids scans and removes the upper inside a user namespace, where the
//    ids the step set are real (cache/userns.ts). Rootless with a single-id map: only id 0 exists
//    inside, so everything is owned by 0 (chown to another id fails in the step itself).
//  - chroot: no overlay: the merged rootfs is copied into a plain dir, fingerprinted, the step runs
//    in it, and changes are found by comparing (cache/tree-diff.ts).
import { basename, dirname } from 'node:path';
import { runContainer, type Isolation, type RunResult, type RunSpec } from '../../native/index.js';
import { scanDir } from '../../cache/layer-scan.js';
import type { RunScratch } from '../../cache/run-scratch.js';
import { materialize } from '../../cache/snapshot-copy.js';
import { diffTree, fingerprint } from '../../cache/tree-diff.js';
import { inUserns, usernsRanges } from '../../cache/userns.js';
import type { StepContext } from '../solve/solver.js';
import type { LayerRef } from '../solve/stage-state.js';
import { commitEntries } from './layer-commit.js';
import type { LayerEntry } from '../../cache/layers.js';

export interface IsolatedRun {
  isolation: Isolation;
  /** Snapshot fs dirs of the stage, lowest first. */
  lowers: string[];
  scratch: RunScratch;
  ctx: StepContext;
  spec: Omit<RunSpec, 'rootfs' | 'isolation'>;
}

export interface IsolatedResult {
  result: RunResult;
  /** Write the step's changes as a layer (undefined when it changed nothing). */
  commit(): Promise<LayerRef | undefined>;
}

async function commitOrNothing(entries: LayerEntry[], ctx: StepContext): Promise<LayerRef | undefined> {
  return entries.length === 0 ? undefined : commitEntries(entries, ctx);
}

async function overlayLowers(r: IsolatedRun): Promise<string[]> {
  if (r.lowers.length === 0) return [await r.scratch.sub('empty')];
  const snaps = r.ctx.solve.store.snapshots;
  return Promise.all(r.lowers.map((d) => snaps.shortLink(basename(dirname(d)))));
}

async function runOverlay(r: IsolatedRun): Promise<IsolatedResult> {
  const o = r.ctx.solve;
  const userns = r.isolation === 'rootless' && usernsRanges() !== undefined;
  // Files the step made for other ids are only removable from inside the namespace.
  const dispose = async () => {
    if (userns) await inUserns({ op: 'rm', paths: [r.scratch.upper, r.scratch.work] }).catch(() => undefined);
  };
  let result: RunResult;
  try {
    result = await runContainer({ ...r.spec, isolation: r.isolation, rootfs: { lowerDirs: await overlayLowers(r), upperDir: r.scratch.upper, workDir: r.scratch.work } });
  } catch (e) {
    await dispose();
    throw e;
  }
  return {
    result,
    async commit() {
      try {
        if (userns) {
          return (await inUserns<LayerRef | null>({
            op: 'commit',
            upper: r.scratch.upper,
            blobsDir: o.store.blobs.dir,
            tmpDir: o.store.blobs.tmpDir,
            format: o.format,
            ...(o.compression !== undefined ? { compression: o.compression } : {}),
            ...(o.compressionLevel !== undefined ? { level: o.compressionLevel } : {}),
            ...(o.timestamp !== undefined ? { timestamp: o.timestamp } : {}),
            ...(o.sourceDateEpoch !== undefined ? { clampMtime: o.sourceDateEpoch } : {}),
          })) ?? undefined;
        }
        // Rootless without a range: the user's own files are container root's.
        const uid = process.getuid?.() ?? 0;
        const entries = await scanDir(r.scratch.upper, { overlay: true });
        if (r.isolation === 'rootless' && uid !== 0) for (const e of entries) (e.uid = 0), (e.gid = 0);
        return await commitOrNothing(entries, r.ctx);
      } finally {
        await dispose();
      }
    },
  };
}

async function runChroot(r: IsolatedRun): Promise<IsolatedResult> {
  const dir = await r.scratch.sub('rootfs');
  await materialize(r.lowers, dir);
  const before = await fingerprint(dir);
  const result = await runContainer({ ...r.spec, isolation: 'chroot', rootfs: { dir } });
  return {
    result,
    async commit() {
      const entries = await diffTree(dir, before);
      if ((process.getuid?.() ?? 0) !== 0) for (const e of entries) (e.uid = 0), (e.gid = 0);
      return commitOrNothing(entries, r.ctx);
    },
  };
}

export function executeIsolated(r: IsolatedRun): Promise<IsolatedResult> {
  return r.isolation === 'chroot' ? runChroot(r) : runOverlay(r);
}
