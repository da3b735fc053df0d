// The typed event stream of a build: the CLI's progress output and library users consume the same events.

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
