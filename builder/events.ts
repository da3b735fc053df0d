// The typed event stream of a build: the CLI's progress output and library users consume the same events.
// `--progress=json` writes exactly these objects, one per line, so their shapes are a public contract:
// add fields and variants, never rename or remove them.

/** A blob or manifest copied by pull, push or a build's base-image pull (see registry/copy.ts). */
export type TransferEvent =
  /** `started`: bytes will follow; `progress`: `bytes` of `size` so far (throttled); `skipped`: already there. */
  | { type: 'blob'; phase: 'started' | 'progress' | 'done' | 'skipped'; digest: string; size: number; bytes: number; mediaType: string }
  /** `unchanged`: the destination's tag already named this manifest, so it was not written again. */
  | { type: 'manifest'; digest: string; mediaType: string; unchanged?: boolean };

export type BuildEvent =
  | { type: 'plan'; stages: number; totalStages: number }
  | { type: 'stage-start'; stage: number; name?: string; base: string }
  | { type: 'step-start'; stage: number; stageName?: string; stageOrdinal: number; step: number; steps: number; instruction: string; line: number }
  | { type: 'step-done'; stage: number; step: number; durationMs: number; cached: boolean; layer?: { digest: string; size: number } }
  /** Whether a step's result came from the build cache, and if not, what made it miss. */
  | { type: 'step-cache'; stage: number; step: number; cached: boolean; key: string; reason?: string }
  /** How the build context was checked: files whose content was read vs. verified by the stat cache. */
  | { type: 'context-hash'; filesRead: number; filesVerified: number }
  /** --cache-to wrote the entries this build used or made. */
  | { type: 'cache-export'; reference: string; entries: number; layers: number; manifestDigest: string }
  | { type: 'output'; stage: number; step: number; stream: 'stdout' | 'stderr'; text: string }
  | { type: 'warning'; message: string }
  | { type: 'image'; id: string; names: string[]; manifestDigest: string };

export type EventSink = (ev: BuildEvent) => void;

/** Everything the CLI's progress renderers accept: build events and transfer events. */
export type ProgressEvent = BuildEvent | TransferEvent;
