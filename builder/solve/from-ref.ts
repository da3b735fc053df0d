// What `COPY --from=` and `RUN --mount from=` name: an earlier stage (by name or index) or an
// image. The cache key and the step both look it up here, so a name that is neither fails the same
// way wherever it is met first: one line at the instruction (the cache key comes first, and its
// lookup used to let the image resolver's bare message through, e.g. `short name "x" cannot be
// resolved…` or `invalid image reference ""`).
import { UserError, type SourceLocation } from '../../oci/errors.js';
import { suggest } from '../containerfile/suggest.js';
import type { ResolvedImage } from './base-image.js';
import type { StepContext } from './solver.js';

export type FromRef = { kind: 'stage'; index: number } | { kind: 'image'; image: ResolvedImage };

/** A word that could be a stage name: then "not found" is about stages first, images second. */
const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/i;

/** `flag` is how the instruction spells it, for messages: `COPY --from`, `RUN --mount from`. */
export async function resolveFromRef(from: string, flag: string, ctx: StepContext, location: SourceLocation): Promise<FromRef> {
  if (from === '') throw new UserError(`${flag}= is empty: it must name a stage or an image`, { location });
  const stages = ctx.solve.plan.stages;
  const earlier = stages.filter((s) => s.index < ctx.stageIndex);
  const stage = earlier.find((s) => s.name === from.toLowerCase()) ?? (/^[0-9]+$/.test(from) ? earlier[Number(from)] : undefined);
  if (stage) return { kind: 'stage', index: stage.index };
  try {
    return { kind: 'image', image: await ctx.image(from) };
  } catch (e) {
    if (!(e instanceof UserError) || e.location) throw e;
    if (!STAGE_NAME.test(from)) throw new UserError(`${flag}=${from}: ${e.message}`, { location, hint: e.hint, cause: e });
    const later = stages.some((s) => s.index >= ctx.stageIndex && s.name === from.toLowerCase());
    const close = suggest(from, earlier.flatMap((s) => (s.name ? [s.name] : [])));
    const hint = later
      ? `stage "${from.toLowerCase()}" is defined after this line; only earlier stages can be used`
      : close
        ? `did you mean stage "${close}"?`
        : `as an image: ${e.message}`;
    throw new UserError(`${flag}=${from}: no stage or image found with that name`, { location, hint, cause: e });
  }
}
