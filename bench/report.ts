// The table and the JSON of raw runs.
import type { Measured } from './measure.js';

export interface RawRun {
  workload: string;
  row: string;
  builder: 'tsbuild' | 'buildah';
  round: number;
  wallSeconds: number;
  peakRssMiB: number;
  cpuSeconds: number;
}

/** Target ratios tsbuild/buildah from issue 7 (and W6's absolute bound). */
export const TARGETS: Record<string, { ratio: number; maxSeconds?: number }> = {
  W1: { ratio: 0.2 }, W2: { ratio: 0.25 }, W3: { ratio: 0.5 }, W4: { ratio: 0.55 }, W5: { ratio: 0.2 },
  W6: { ratio: 1.0, maxSeconds: 0.3 }, 'W7 cold': { ratio: 0.4 }, 'W7 warm': { ratio: 1.5 },
};
export const RSS_LIMIT_MIB = 300;

export function toRaw(workload: string, row: string, builder: RawRun['builder'], round: number, m: Measured): RawRun {
  return { workload, row, builder, round, wallSeconds: m.wallSeconds, peakRssMiB: m.peakRssMiB, cpuSeconds: m.cpuSeconds };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface Summary {
  row: string;
  tsbuild: Stats;
  buildah: Stats;
  ratio: number;
  target?: number;
  pass?: boolean;
}

interface Stats {
  median: number;
  min: number;
  max: number;
  peakRssMiB: number;
  /** Median CPU seconds (user + system, children included). */
  cpu: number;
  runs: number;
}

function stats(runs: RawRun[]): Stats {
  const w = runs.map((r) => r.wallSeconds);
  return { median: median(w), min: Math.min(...w), max: Math.max(...w), peakRssMiB: Math.max(...runs.map((r) => r.peakRssMiB)), cpu: median(runs.map((r) => r.cpuSeconds)), runs: runs.length };
}

export function summarize(raw: RawRun[]): Summary[] {
  const rows = [...new Set(raw.map((r) => r.row))];
  return rows.map((row) => {
    const ts = stats(raw.filter((r) => r.row === row && r.builder === 'tsbuild'));
    const bh = stats(raw.filter((r) => r.row === row && r.builder === 'buildah'));
    const ratio = ts.median / bh.median;
    const t = TARGETS[row] ?? TARGETS[row.split(' ').slice(0, 2).join(' ')];
    const pass = t ? ratio <= t.ratio && (t.maxSeconds === undefined || ts.median < t.maxSeconds) && ts.peakRssMiB < RSS_LIMIT_MIB : undefined;
    return { row, tsbuild: ts, buildah: bh, ratio, target: t?.ratio, pass };
  });
}

const f2 = (x: number) => x.toFixed(x < 10 ? 2 : 1);

export function table(summary: Summary[]): string {
  const head = ['workload', 'tsbuild median (min–max) s', 'CPU s', 'RSS MiB', 'buildah median (min–max) s', 'CPU s', 'RSS MiB', 'ratio', 'target', ''];
  const rows = summary.map((s) => [
    s.row,
    `${f2(s.tsbuild.median)} (${f2(s.tsbuild.min)}–${f2(s.tsbuild.max)})`,
    f2(s.tsbuild.cpu),
    s.tsbuild.peakRssMiB.toFixed(0),
    `${f2(s.buildah.median)} (${f2(s.buildah.min)}–${f2(s.buildah.max)})`,
    f2(s.buildah.cpu),
    s.buildah.peakRssMiB.toFixed(0),
    s.ratio.toFixed(2),
    s.target === undefined ? '' : `≤ ${s.target}${s.row === 'W6' ? ', < 0.3 s' : ''}`,
    s.pass === undefined ? '' : s.pass ? 'ok' : 'MISS',
  ]);
  const lines = [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`);
  return lines.join('\n');
}
