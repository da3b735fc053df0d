// The fuzz loop itself, runnable in a worker (see runner.ts) or in-process. Each iteration feeds one
// mutated Containerfile through the whole front end (parse → plan → expand/plan every step), and one
// random word through the expander; anything other than a positioned UserError is a failure.
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandWord, expandWords } from '../../builder/containerfile/index.js';
import { runFrontEnd, unacceptable } from './frontend-pipeline.js';
import { mutate, randomWord, Rng } from './mutate.js';

export interface Failure {
  input: string;
  reason: string;
  /** 'frontend' (a whole Containerfile) or 'word' (the expander alone). */
  kind: 'frontend' | 'word';
  buildArgs?: [string, string][];
  target?: string;
}

export interface LoopOptions {
  seed: number;
  ms: number;
  corpus: string[];
  /** Called with each input before it runs, so a watchdog can name the one that hangs. */
  onInput?: (input: string) => void;
  /** Stop after this many distinct failures. */
  maxFailures?: number;
}

/** A tiny real build context for COPY/ADD planning. */
export function makeFuzzContext(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-fuzzctx-'));
  mkdirSync(join(dir, 'dir/sub'), { recursive: true });
  writeFileSync(join(dir, 'a.txt'), 'A');
  writeFileSync(join(dir, 'b.txt'), 'B');
  writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  writeFileSync(join(dir, 'dir/x'), 'x');
  writeFileSync(join(dir, 'dir/sub/y'), 'y');
  writeFileSync(join(dir, 'go.mod'), 'module x\n');
  writeFileSync(join(dir, 'go.sum'), '');
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * One bug is reported once: failures are grouped by where they were thrown (the first stack frames
 * outside the error and lexer helpers) plus the reason with quoted text and numbers blurred.
 */
export function signature(reason: string, err?: unknown): string {
  const frames = ((err as Error | undefined)?.stack ?? '')
    .split('\n')
    .filter((l) => /^\s+at /.test(l) && !/oci\/errors|containerfile\/lexer|node:internal/.test(l))
    .slice(0, 2)
    .map((l) => l.replace(/:\d+\)?$/, '').replace(/^.*\//, ''));
  const blurred = reason.replace(/"[^]*"/g, '""').replace(/\([^)]*\)/g, '()').replace(/\d+/g, 'N').slice(0, 120);
  return `${blurred} @ ${frames.join(' < ')}`;
}

export async function checkOne(text: string, contextDir: string, buildArgs?: Map<string, string>, target?: string): Promise<{ reason: string; sig: string } | undefined> {
  try {
    await runFrontEnd(text, { contextDir, buildArgs, target });
    return undefined;
  } catch (e) {
    const reason = unacceptable(e);
    return reason ? { reason, sig: signature(reason, e) } : undefined;
  }
}

export function checkWord(word: string, escape: string): { reason: string; sig: string } | undefined {
  const location = { file: 'Containerfile', line: 7 };
  const lookup = (n: string) => (n === 'A' ? 'a b*c' : n === 'E' ? '' : n === '1' ? 'one' : undefined);
  for (const f of [expandWord, expandWords]) {
    try {
      f(word, lookup, escape, location);
    } catch (e) {
      const reason = unacceptable(e);
      if (reason) return { reason, sig: signature(reason, e) };
    }
  }
  return undefined;
}

export async function fuzzLoop(o: LoopOptions): Promise<{ iterations: number; failures: Failure[] }> {
  const rng = new Rng(o.seed);
  const ctx = makeFuzzContext();
  const seen = new Set<string>();
  const failures: Failure[] = [];
  const deadline = Date.now() + o.ms;
  let iterations = 0;
  try {
    while (Date.now() < deadline && failures.length < (o.maxFailures ?? 20)) {
      iterations++;
      const text = mutate(rng, o.corpus);
      const buildArgs = rng.chance(0.2) ? new Map([[rng.pick(['A', 'BASE', 'TAG', 'V', 'X']), rng.pick(['', '1', '${A}', 'a:b', '../x', 'scratch'])]]) : undefined;
      const target = rng.chance(0.1) ? rng.pick(['base', 'second', 'a', 'b', 'build', 'nope']) : undefined;
      o.onInput?.(text);
      const bad = await checkOne(text, ctx.dir, buildArgs, target);
      if (bad && !seen.has(bad.sig)) {
        seen.add(bad.sig);
        failures.push({ input: text, reason: bad.reason, kind: 'frontend', buildArgs: buildArgs ? [...buildArgs] : undefined, target });
      }
      const word = randomWord(rng);
      o.onInput?.(word);
      const wr = checkWord(word, rng.chance(0.2) ? '`' : '\\');
      if (wr && !seen.has(wr.sig)) {
        seen.add(wr.sig);
        failures.push({ input: word, reason: wr.reason, kind: 'word' });
      }
    }
  } finally {
    ctx.cleanup();
  }
  return { iterations, failures };
}
