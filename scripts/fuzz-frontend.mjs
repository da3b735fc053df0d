#!/usr/bin/env node
// Long front-end fuzz run over the compiled sources (npm run build:ts first):
//   node scripts/fuzz-frontend.mjs [--seconds N] [--seed S] [--jobs J]
// Runs J workers (default: CPU count) with consecutive seeds; every distinct failure is printed and
// saved under test/fuzz/corpus/regressions/, where the test suite replays it from then on.
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '300' }, seed: { type: 'string' }, jobs: { type: 'string' } } });
const ms = Number(values.seconds) * 1000;
const seed = Number(values.seed ?? Date.now() % 2 ** 31);
const jobs = Number(values.jobs ?? availableParallelism());

const { runFuzz } = await import('../dist/test/fuzz/runner.js');
const { readCorpus, saveRegression } = await import('../dist/test/fuzz/corpus.js');
const corpus = [...readCorpus('seeds'), ...readCorpus('regressions').filter((e) => !e.name.startsWith('word-'))].map((e) => e.text);

console.error(`fuzzing ${ms / 1000}s with ${jobs} workers, seeds ${seed}..${seed + jobs - 1}`);
const runs = await Promise.all(Array.from({ length: jobs }, (_, i) => runFuzz({ seed: seed + i, ms, corpus })));
let iterations = 0;
let failures = 0;
for (const r of runs) {
  iterations += r.iterations;
  for (const f of r.failures) {
    failures++;
    const name = saveRegression(f.input, f.kind === 'word' ? 'word' : 'frontend');
    console.log(`FAIL ${f.reason}\n  saved as test/fuzz/corpus/regressions/${name}\n  input: ${JSON.stringify(f.input).slice(0, 500)}`);
  }
}
console.log(`${iterations} iterations, ${failures} failures`);
process.exit(failures > 0 ? 1 : 0);
