// The three runtimes a RUN step can use and, for each, how the step's changes become a layer:
//  - oci / rootless: kernel overlay (lower = the stage's snapshots through short links, a fresh
//    upper); the upper dir *is* the layer (char 0/0 → .wh., opaque xattr → .wh..wh..opq).
//    Rootless with subordinate ids scans and removes the upper inside a user namespace, where the
//    ids the step set are real (cache/userns.ts). Rootless with a single-id map: only id 0 exists
//    inside, so everything is owned by 0 (chown to another id fails in the step itself).
//    Once the layer is written the upper dir becomes its snapshot (renamed into the snapshot
//    store, cache/upper-snapshot.ts), so the next step does not unpack the blob just written.
//  - chroot: no overlay: the merged rootfs is a plain dir (copied once per stage and kept from one
//    RUN to the next, chroot-roots.ts), fingerprinted, the step runs in it, and changes are found
//    by comparing (cache/tree-diff.ts).
import { basename, dirname } from 'node:path';
import { runContainer, type Isolation, type RunResult, type RunSpec } from '../../native/index.js';
import { scanDir, type LeftOut } from '../../cache/layer-scan.js';
import { isRoot } from '../../cache/native.js';
import type { RunScratch } from '../../cache/run-scratch.js';
import { diffTree, fingerprint, type Fingerprint } from '../../cache/tree-diff.js';
import { upperAsSnapshot } from '../../cache/upper-snapshot.js';
import { inUserns, usernsRanges } from '../../cache/userns.js';
import type { StepContext } from '../solve/solver.js';
import type { LayerRef } from '../solve/stage-state.js';
import { commitEntries, reuseChunks } from './layer-commit.js';
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
  /** The step is over, committed or not: free what the runtime still holds. */
  release(): Promise<void>;
}

async function commitOrNothing(entries: LayerEntry[], ctx: StepContext): Promise<LayerRef | undefined> {
  return entries.length === 0 ? undefined : commitEntries(entries, ctx);
}

async function overlayLowers(r: IsolatedRun): Promise<string[]> {
  if (r.lowers.length === 0) return [await r.scratch.sub('empty')];
  const snaps = r.ctx.solve.store.snapshots;
  return Promise.all(r.lowers.map((d) => snaps.shortLink(basename(dirname(d)))));
}

/** The opaque marker an overlay mount honours: rootless mounts use `userxattr`. */
function opaqueXattrOf(isolation: Isolation): string {
  return isolation === 'rootless' ? 'user.overlay.opaque' : 'trusted.overlay.opaque';
}

/**
 * Whether the upper dir can become the new layer's snapshot as it is: its opaque markers must be in
 * the namespace the snapshot store writes (trusted.* as root, user.* otherwise; see layer-apply),
 * which is not so when root runs a rootless (userxattr) overlay.
 */
function upperFitsStore(isolation: Isolation): boolean {
  return (isolation === 'rootless') === !isRoot();
}

/** Parent snapshot (chain ID hex) of the step's layer: the top lower, or none on an empty rootfs. */
function parentSnapshot(r: IsolatedRun): string | undefined {
  const top = r.lowers[r.lowers.length - 1];
  return top === undefined ? undefined : basename(dirname(top));
}

async function runOverlay(r: IsolatedRun): Promise<IsolatedResult> {
  const o = r.ctx.solve;
  const userns = r.isolation === 'rootless' && usernsRanges() !== undefined;
  const keepUpper = upperFitsStore(r.isolation);
  // Files the step made for other ids are only removable from inside the namespace.
  const dispose = async () => {
    if (userns) await inUserns({ op: 'rm', paths: [r.scratch.upper, r.scratch.work] }).catch(() => undefined);
  };
  // The upper dir (prepared by upperAsSnapshot) becomes the layer's snapshot, which the next step
  // would otherwise unpack again from the blob just written. Only a speed-up: if it fails, that unpack happens.
  const adopt = async (layer: LayerRef) => {
    await o.store.snapshots.adopt(layer, parentSnapshot(r), r.scratch.upper).catch(() => undefined);
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
          const committed = await inUserns<(LayerRef & { snapshotReady: boolean }) | null>({
            op: 'commit',
            upper: r.scratch.upper,
            blobsDir: o.store.blobs.dir,
            tmpDir: o.store.blobs.tmpDir,
            format: o.format,
            opaqueXattr: opaqueXattrOf(r.isolation),
            keepAsSnapshot: keepUpper,
            ...(o.compression !== undefined ? { compression: o.compression } : {}),
            ...(o.compressionLevel !== undefined ? { level: o.compressionLevel } : {}),
            ...(o.timestamp !== undefined ? { timestamp: o.timestamp } : {}),
            ...(o.sourceDateEpoch !== undefined ? { clampMtime: o.sourceDateEpoch } : {}),
            reuseChunks: reuseChunks(r.ctx),
          });
          if (!committed) return undefined;
          const { snapshotReady, ...layer } = committed;
          if (snapshotReady) await adopt(layer);
          return layer;
        }
        const leftOut: LeftOut = { sockets: [], xattrs: [] };
        const entries = await scanDir(r.scratch.upper, { overlay: true, opaqueXattr: opaqueXattrOf(r.isolation), leftOut });
        // Rootless without a range: the user's own files are container root's.
        if (r.isolation === 'rootless' && !isRoot()) for (const e of entries) (e.uid = 0), (e.gid = 0);
        const layer = await commitOrNothing(entries, r.ctx);
        const policy = { timestamp: o.timestamp, clampMtime: o.sourceDateEpoch };
        if (layer && keepUpper && (await upperAsSnapshot(r.scratch.upper, leftOut, entries, policy).then(() => true, () => false))) await adopt(layer);
        return layer;
      } finally {
        await dispose();
      }
    },
    // The scratch dirs belong to the RUN step (it removes them); commit disposes of the namespace's.
    release: async () => undefined,
  };
}

async function runChroot(r: IsolatedRun): Promise<IsolatedResult> {
  const o = r.ctx.solve;
  const layers = [...r.ctx.state.layers];
  const root = await o.chrootRoots.take(r.ctx.stageIndex, layers, r.lowers);
  let result: RunResult;
  let before: Fingerprint;
  try {
    before = fingerprint(root.dir);
    result = await runContainer({ ...r.spec, isolation: 'chroot', rootfs: { dir: root.dir } });
  } catch (e) {
    await root.release();
    throw e;
  }
  return {
    result,
    async commit() {
      const leftOut: LeftOut = { sockets: [], xattrs: [] };
      const entries = await diffTree(root.dir, before, { leftOut });
      if ((process.getuid?.() ?? 0) !== 0) for (const e of entries) (e.uid = 0), (e.gid = 0);
      const layer = await commitOrNothing(entries, r.ctx);
      // The directory equals the new layer stack only when the layer took the tree as it is.
      const faithful = o.timestamp === undefined && o.sourceDateEpoch === undefined && leftOut.sockets.length === 0 && leftOut.xattrs.length === 0;
      if (faithful) root.keep(layer ? [...layers, layer] : layers);
      return layer;
    },
    release: () => root.release(),
  };
}

export function executeIsolated(r: IsolatedRun): Promise<IsolatedResult> {
  return r.isolation === 'chroot' ? runChroot(r) : runOverlay(r);
}
