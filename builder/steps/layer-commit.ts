// Entries → a layer blob in the store, with the build's timestamp policy applied: --timestamp sets
// every mtime (buildah), SOURCE_DATE_EPOCH clamps them (BuildKit).
import { writeLayer, type LayerEntry } from '../../cache/layers.js';
import type { LayerRef } from '../solve/stage-state.js';
import type { StepContext } from '../solve/solver.js';

export async function commitEntries(entries: LayerEntry[], ctx: StepContext): Promise<LayerRef> {
  const o = ctx.solve;
  const fixed = o.timestamp !== undefined ? entries.map((e) => ({ ...e, mtime: o.timestamp! })) : entries;
  // An abort stops the layer half-way; build() reports it as the interruption it is.
  const blob = await writeLayer(fixed, o.store.blobs, { format: o.format, clampMtime: o.sourceDateEpoch, compression: o.compression, level: o.compressionLevel, reuseChunks: reuseChunks(ctx), signal: o.signal });
  return { diffID: blob.diffID, digest: blob.digest, size: blob.size, mediaType: blob.mediaType };
}

/** Compressed chunks of earlier layers may be reused unless the build said --no-cache. */
export function reuseChunks(ctx: StepContext): boolean {
  return ctx.solve.cache?.lookup !== false;
}

/** The time new directories and heredoc files get. */
export function stepNow(ctx: StepContext): number {
  return ctx.solve.timestamp ?? ctx.solve.sourceDateEpoch ?? Math.floor(Date.now() / 1000);
}
