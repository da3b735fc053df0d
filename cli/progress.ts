// Progress for builds, pulls and pushes. Everything goes to stderr (or --logfile), so stdout carries
// only the image ID. Three renderers consume the same typed events (builder/events.ts):
//   plain  one line per event, for CI logs: a STEP line as buildah prints it, then `--> CACHED` or
//          `--> <step>: <why it missed>`, the step's output in full (never clipped), and for a step
//          that ran, `[2/4] RUN npm ci ... 12.3s`. When several stages run (possibly at once), every
//          line starts with `[n/N name]` so interleaved output stays readable.
//   tty    live lines with a spinner and elapsed time, the last lines of a running step's output,
//          per-layer bars for pulls and pushes (progress-tty.ts).
//   json   one event object per line (progress-json.ts).
import { closeSync, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as tty from 'node:tty';
import { Option, type Command } from 'commander';
import type { BuildEvent, ProgressEvent, TransferEvent } from '../builder/events.js';
import { clip, formatBytes, formatDuration, shortDigest } from './progress-format.js';
import { jsonProgress } from './progress-json.js';
import { ttyProgress } from './progress-tty.js';
import { UserError } from '../oci/errors.js';

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'json';
export const PROGRESS_MODES: readonly ProgressMode[] = ['auto', 'tty', 'plain', 'json'];

export interface ProgressOptions {
  quiet: boolean;
  write?: (s: string) => void;
}

/** A progress display: feed it events, then close it (with the error, when the command failed). */
export interface Progress {
  event(ev: ProgressEvent): void;
  /** A free-form status line ("Pushed NAME@DIGEST"); the json renderer wraps it as a `message` event. */
  message(text: string): void;
  close(error?: unknown): void;
}

/** The instruction cut short for the miss line ("COPY app/ ..."), as the first two words. */
function shortInstruction(text: string): string {
  const words = text.trim().split(/\s+/);
  return words.length > 2 ? `${words.slice(0, 2).join(' ')} ...` : words.join(' ');
}

function transferLine(ev: TransferEvent): string | undefined {
  if (ev.type === 'manifest') return ev.unchanged ? `Manifest ${ev.digest} already there: not written again` : `Writing manifest ${ev.digest}`;
  const what = `${ev.mediaType.includes('config') ? 'config' : 'blob'} ${shortDigest(ev.digest)}`;
  if (ev.phase === 'skipped') return `Copying ${what} skipped: already exists`;
  if (ev.phase === 'started') return `Copying ${what}`;
  if (ev.phase === 'done') return `Copying ${what} done (${formatBytes(ev.size >= 0 ? ev.size : ev.bytes)})`;
  return undefined; // byte ticks are for bars, not for log lines
}

export function plainProgress(opts: ProgressOptions): (ev: ProgressEvent) => void {
  const write = opts.write ?? ((s: string) => process.stderr.write(s));
  let stages = 1;
  const prefixes = new Map<number, string>();
  /** BuildKit-style names for a stage's duration lines (`[builder 3/5] RUN make ... 1.2s`). */
  const labels = new Map<number, string>();
  const steps = new Map<string, { instruction: string; steps: number; cached?: boolean }>();
  const prefix = (stage: number) => prefixes.get(stage) ?? '';
  return (ev) => {
    if (ev.type === 'plan') stages = ev.stages;
    if (opts.quiet && ev.type !== 'warning') return;
    switch (ev.type) {
      case 'step-start': {
        if (stages > 1) {
          prefixes.set(ev.stage, `[${ev.stageOrdinal}/${stages}${ev.stageName ? ' ' + ev.stageName : ''}] `);
          labels.set(ev.stage, `${ev.stageName ?? `stage-${ev.stageOrdinal}`} `);
        }
        steps.set(`${ev.stage}/${ev.step}`, { instruction: ev.instruction, steps: ev.steps });
        write(`${prefix(ev.stage)}STEP ${ev.step}/${ev.steps}: ${ev.instruction}\n`);
        break;
      }
      case 'step-cache': {
        const s = steps.get(`${ev.stage}/${ev.step}`);
        if (s) s.cached = ev.cached;
        const ins = shortInstruction(s?.instruction ?? '');
        write(ev.cached ? `${prefix(ev.stage)}--> CACHED\n` : `${prefix(ev.stage)}--> ${ins}: ${ev.reason ?? 'not in cache'}\n`);
        break;
      }
      case 'step-done': {
        // The summary with the step's duration closes a step that ran (its output is above it); a
        // cached step was already closed by `--> CACHED`, and FROM has no verdict of its own.
        const key = `${ev.stage}/${ev.step}`;
        const s = steps.get(key);
        steps.delete(key);
        // One bracket per line: the stage's name and the step (not the stage prefix and the step).
        if (s && s.cached === false) write(`[${labels.get(ev.stage) ?? ''}${ev.step}/${s.steps}] ${clip(s.instruction, 60)} ... ${formatDuration(ev.durationMs)}\n`);
        break;
      }
      case 'output': {
        const p = prefix(ev.stage);
        const text = ev.text.endsWith('\n') ? ev.text : ev.text + '\n';
        write(p ? text.replace(/^(?=.)/gm, p) : text);
        break;
      }
      case 'cache-export':
        write(`Exported ${ev.entries} cache entries (${ev.layers} layers) to ${ev.reference}\n`);
        break;
      case 'warning':
        write(`WARN: ${ev.message}\n`);
        break;
      case 'image':
        if (ev.names.length > 0) write(`COMMIT ${ev.names.join(', ')}\n`);
        break;
      case 'blob':
      case 'manifest': {
        const line = transferLine(ev);
        if (line) write(line + '\n');
        break;
      }
      default:
        break;
    }
  };
}

export interface CreateProgressOptions {
  mode?: string;
  quiet?: boolean;
  /** Write progress to this file instead of stderr (buildah's --logfile); never a live display. */
  logfile?: string;
  /** For tests: where stderr output goes, and whether it is a terminal. */
  stream?: { write(s: string): unknown; isTTY?: boolean; columns?: number };
}

export function parseProgressMode(mode: string | undefined): ProgressMode {
  const m = (mode ?? process.env.TSBUILD_PROGRESS ?? 'auto') as ProgressMode;
  if (!PROGRESS_MODES.includes(m)) throw new UserError(`--progress must be one of ${PROGRESS_MODES.join(', ')}, got "${mode}"`, { exitCode: 2 });
  return m;
}

/** The renderer for a command's flags: `auto` is tty on a terminal (and not TERM=dumb), plain otherwise. */
export function createProgress(opts: CreateProgressOptions = {}): Progress {
  let mode = parseProgressMode(opts.mode);
  // process.stderr is looked up when first written to: creating it costs ~1 ms, and a quiet command
  // that succeeds never writes.
  const stream = () => opts.stream ?? process.stderr;
  let write = (s: string) => void stream().write(s);
  let fd: number | undefined;
  if (opts.logfile) {
    try {
      fd = openSync(opts.logfile, 'a');
    } catch (e) {
      throw new UserError(`cannot open --logfile ${opts.logfile}: ${(e as Error).message}`);
    }
    const file = fd;
    // Synchronous writes: the log is complete even when the process exits right after an error.
    write = (s: string) => void writeSync(file, s);
    if (mode === 'tty' || mode === 'auto') mode = 'plain';
  }
  const closeFile = () => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  // -q: nothing but warnings, whatever --progress says (the image ID still goes to stdout).
  if (opts.quiet) mode = 'plain';
  if (mode === 'auto') mode = (opts.stream ? opts.stream.isTTY : isTerminal(2)) && process.env.TERM !== 'dumb' ? 'tty' : 'plain';

  if (mode === 'json') {
    const p = jsonProgress(write);
    return { ...p, close: (e) => (p.close(e), closeFile()) };
  }
  if (mode === 'tty') return ttyProgress({ write, columns: () => stream().columns || Number(process.env.COLUMNS) || 80 });
  const plain = plainProgress({ quiet: Boolean(opts.quiet), write });
  return {
    event: plain,
    message: (text) => {
      if (!opts.quiet) write(text + '\n');
    },
    close: closeFile,
  };
}

/** Re-exported for library users who render events themselves. */
export type { BuildEvent, ProgressEvent, TransferEvent };

/** --progress and --logfile, named as in buildah/podman and docker buildx. */
export function progressOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--progress <type>', 'progress output: auto (tty on a terminal, else plain), tty, plain, or json (one event per line); default also from $TSBUILD_PROGRESS').choices([...PROGRESS_MODES]))
    .option('--logfile <file>', 'append progress output to this file instead of standard error');
}

/** Run a command body with a progress display that is closed (with the error, if any) at the end. */
export async function withProgress<T>(opts: CreateProgressOptions, fn: (p: Progress) => Promise<T>): Promise<T> {
  const p = createProgress(opts);
  try {
    const r = await fn(p);
    p.close();
    return r;
  } catch (e) {
    p.close(e);
    throw e;
  }
}

/** isatty from node:tty, loaded only when asked: a quiet command never is (it costs ~1.5 ms to load). */
function isTerminal(fd: number): boolean {
  return (createRequire(import.meta.url)('node:tty') as typeof tty).isatty(fd);
}
