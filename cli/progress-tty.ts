// --progress=tty: a live region at the bottom of the terminal, redrawn ~10 times a second. Finished
// steps and layers are printed above it once and then scroll like a normal log; the region shows
// each running step with a spinner and its elapsed time, the last lines of its output, and one bar
// per layer being pulled or pushed (bytes, rate). Every drawn line is cut to the terminal width,
// because a wrapped line would throw off the cursor-up count of the next redraw.
import type { ProgressEvent } from '../builder/events.js';
import { clip, formatBytes, formatDuration, shortDigest, terminalSafe } from './progress-format.js';
import type { Progress } from './progress.js';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** How many of a running step's latest output lines stay visible. */
const TAIL_LINES = 6;
const FRAME_MS = 100;

const dim = (s: string) => `\x1b[2m${s}\x1b[22m`;
const green = (s: string) => `\x1b[32m${s}\x1b[39m`;
const red = (s: string) => `\x1b[31m${s}\x1b[39m`;
const yellow = (s: string) => `\x1b[33m${s}\x1b[39m`;
const blue = (s: string) => `\x1b[34m${s}\x1b[39m`;

interface RunningStep {
  label: string;
  started: number;
  cached?: boolean;
  reason?: string;
  /** Every line, so a failed step's whole output can be shown at the end. */
  lines: string[];
  partial: string;
}

interface Blob {
  label: string;
  size: number;
  bytes: number;
  started: number;
}

export function ttyProgress(opts: { write: (s: string) => void; columns: () => number }): Progress {
  const { write } = opts;
  let stages = 1;
  const steps = new Map<string, RunningStep>();
  const blobs = new Map<string, Blob>();
  const stageLabel = new Map<number, string>();
  let height = 0;
  let frame = 0;
  let closed = false;
  const started = Date.now();

  /** Cut to the terminal width by visible characters (escape sequences do not count). */
  const fit = (s: string): string => {
    const width = Math.max(20, opts.columns() - 1);
    let visible = 0;
    let out = '';
    for (let i = 0; i < s.length; i++) {
      if (s[i] === '\x1b') {
        const m = /^\x1b\[[0-9;]*m/.exec(s.slice(i));
        if (m) {
          out += m[0];
          i += m[0].length - 1;
          continue;
        }
      }
      if (visible >= width) break;
      out += s[i];
      visible++;
    }
    return out + '\x1b[0m';
  };

  const region = (): string[] => {
    const now = Date.now();
    const spin = SPINNER[frame % SPINNER.length];
    const lines: string[] = [];
    for (const s of steps.values()) {
      lines.push(`${blue(spin)} ${s.label} ${dim(formatDuration(now - s.started))}`);
      const tail = s.partial ? [...s.lines.slice(-(TAIL_LINES - 1)), s.partial] : s.lines.slice(-TAIL_LINES);
      for (const l of tail) lines.push(dim(`  │ ${terminalSafe(l)}`));
    }
    for (const b of blobs.values()) {
      const secs = Math.max(0.001, (now - b.started) / 1000);
      const rate = `${formatBytes(Math.round(b.bytes / secs))}/s`;
      const frac = b.size > 0 ? Math.min(1, b.bytes / b.size) : 0;
      const width = 24;
      const filled = Math.round(frac * width);
      const bar = `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(width - filled)}]`;
      lines.push(`${blue(spin)} ${b.label} ${bar} ${formatBytes(b.bytes)} / ${b.size >= 0 ? formatBytes(b.size) : '?'}  ${rate}`);
    }
    return lines;
  };

  /** Erase the region, print `above` as permanent lines, redraw the region under them. */
  const draw = (above: string[] = []) => {
    if (closed) return;
    let s = height > 0 ? `\x1b[${height}A\r\x1b[J` : '\r\x1b[J';
    for (const l of above) s += l + '\n';
    const live = region().map(fit);
    for (const l of live) s += l + '\n';
    height = live.length;
    write(s);
  };

  const timer = setInterval(() => {
    frame++;
    if (steps.size > 0 || blobs.size > 0) draw();
  }, FRAME_MS);
  timer.unref();
  write('\x1b[?25l');
  // A killed or crashing process must not leave the terminal without a cursor.
  const showCursor = () => write('\x1b[?25h');
  process.once('exit', showCursor);

  const stepKey = (stage: number, step: number) => `${stage}/${step}`;

  const event = (ev: ProgressEvent) => {
    switch (ev.type) {
      case 'plan':
        stages = ev.stages;
        break;
      case 'step-start': {
        if (stages > 1) stageLabel.set(ev.stage, `[${ev.stageOrdinal}/${stages}${ev.stageName ? ' ' + ev.stageName : ''}] `);
        const label = `${stageLabel.get(ev.stage) ?? ''}[${ev.step}/${ev.steps}] ${clip(ev.instruction, 70)}`;
        steps.set(stepKey(ev.stage, ev.step), { label, started: Date.now(), lines: [], partial: '' });
        draw();
        break;
      }
      case 'step-cache': {
        const s = steps.get(stepKey(ev.stage, ev.step));
        if (s) {
          s.cached = ev.cached;
          s.reason = ev.reason;
        }
        break;
      }
      case 'output': {
        const s = steps.get(stepKey(ev.stage, ev.step));
        if (!s) break;
        const text = s.partial + ev.text;
        const parts = text.split('\n');
        s.partial = parts.pop() ?? '';
        s.lines.push(...parts);
        break;
      }
      case 'step-done': {
        const key = stepKey(ev.stage, ev.step);
        const s = steps.get(key);
        steps.delete(key);
        if (!s) break;
        // FROM (step 1) resolves its base before the step starts: a duration there would say nothing.
        const verdict = ev.cached ? yellow('CACHED') : ev.step === 1 ? '' : dim(formatDuration(ev.durationMs));
        const why = !ev.cached && s.reason && s.reason !== 'not in cache' ? dim(`  (${s.reason})`) : '';
        draw([fit(`${green('✔')} ${s.label} ${verdict}${why}`)]);
        break;
      }
      case 'warning':
        draw([yellow(`WARN: ${ev.message}`)]);
        break;
      case 'cache-export':
        draw([`${green('✔')} exported ${ev.entries} cache entries (${ev.layers} layers) to ${ev.reference}`]);
        break;
      case 'image':
        draw([`${green('✔')} ${ev.names.length > 0 ? `COMMIT ${ev.names.join(', ')}` : 'COMMIT'} ${dim(`(${formatDuration(Date.now() - started)})`)}`]);
        break;
      case 'blob': {
        const label = `${ev.mediaType.includes('config') ? 'config' : 'layer'} ${shortDigest(ev.digest)}`;
        if (ev.phase === 'skipped') draw([dim(`✔ ${label} already exists`)]);
        else if (ev.phase === 'started') blobs.set(ev.digest, { label, size: ev.size, bytes: 0, started: Date.now() });
        else if (ev.phase === 'progress') {
          const b = blobs.get(ev.digest);
          if (b) b.bytes = ev.bytes;
        } else {
          const b = blobs.get(ev.digest);
          blobs.delete(ev.digest);
          const took = b ? ` ${dim(formatDuration(Date.now() - b.started))}` : '';
          draw([`${green('✔')} ${label} ${formatBytes(ev.size >= 0 ? ev.size : ev.bytes)}${took}`]);
        }
        break;
      }
      case 'manifest':
        draw([`${green('✔')} manifest ${shortDigest(ev.digest)}${ev.unchanged ? ' (already there)' : ''}`]);
        break;
      default:
        break;
    }
  };

  return {
    event,
    message: (text) => draw([text]),
    close: (error) => {
      if (closed) return;
      clearInterval(timer);
      // The region goes; on failure the steps that were running are printed with their whole output
      // (a live tail is not enough to debug a failed RUN).
      const above: string[] = [];
      if (error !== undefined) {
        for (const s of steps.values()) {
          above.push(red(`✘ ${s.label} ${formatDuration(Date.now() - s.started)}`));
          for (const l of [...s.lines, ...(s.partial ? [s.partial] : [])]) above.push(`  │ ${terminalSafe(l)}`);
        }
      }
      steps.clear();
      blobs.clear();
      draw(above);
      closed = true;
      showCursor();
      process.removeListener('exit', showCursor);
    },
  };
}
