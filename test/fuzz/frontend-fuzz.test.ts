// Front-end fuzzing in the suite: every corpus entry (seeds and past failures) replays, then a
// bounded mutation run (TSBUILD_FUZZ_MS, default 45 s) feeds parser, expander and planner. The only
// acceptable failure is a UserError with a file:line position and a one-line message. Longer runs:
// `node scripts/fuzz-frontend.mjs --seconds 600` (saves new failures into corpus/regressions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCorpus } from './corpus.js';
import { checkOne, checkWord, makeFuzzContext } from './fuzz-loop.js';
import { runFuzz } from './runner.js';

const MS = Number(process.env.TSBUILD_FUZZ_MS ?? 45_000);
// A new seed every day explores new inputs over time; any failure prints the seed to reproduce it.
const SEED = Number(process.env.TSBUILD_FUZZ_SEED ?? Math.floor(Date.now() / 86_400_000));

test('every corpus entry is accepted or fails with a positioned one-line UserError', async () => {
  const ctx = makeFuzzContext();
  try {
    const entries = [...readCorpus('seeds'), ...readCorpus('regressions')];
    assert.ok(entries.length >= 20, 'the corpus is present');
    for (const e of entries) {
      if (e.name.startsWith('word-')) {
        for (const esc of ['\\', '`']) assert.equal(checkWord(e.text, esc)?.reason, undefined, e.name);
        continue;
      }
      for (const buildArgs of [undefined, new Map([['V', '1'], ['TAG', '${']])]) {
        const bad = await checkOne(e.text, ctx.dir, buildArgs);
        assert.equal(bad?.reason, undefined, `${e.name}: ${bad?.reason}`);
      }
    }
  } finally {
    ctx.cleanup();
  }
});

test(`mutation fuzzing of parser, expander and planner (${MS} ms, seed ${SEED})`, { timeout: MS + 60_000 }, async () => {
  const corpus = [...readCorpus('seeds'), ...readCorpus('regressions').filter((e) => !e.name.startsWith('word-'))].map((e) => e.text);
  const r = await runFuzz({ seed: SEED, ms: MS, corpus });
  assert.ok(r.iterations > 100, `the fuzzer ran (${r.iterations} iterations)`);
  const report = r.failures.map((f) => `- ${f.reason}\n  input: ${JSON.stringify(f.input)}${f.buildArgs ? `\n  build args: ${JSON.stringify(f.buildArgs)}` : ''}${f.target ? `\n  target: ${f.target}` : ''}`);
  assert.equal(r.failures.length, 0, `seed ${SEED}: ${r.failures.length} distinct failures in ${r.iterations} iterations:\n${report.join('\n')}`);
});
