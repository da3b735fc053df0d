// The `tsbuild` users run (dist/cli/main.js) is one bundled file (scripts/bundle-cli.mjs), and every
// CLI test runs that file. What bundling could break is checked here: the bundle must load nothing
// from dist/ or node_modules at start, and the things found through a module's own location (the
// native addon, the worker threads, the lazily loaded registry client) must still be found.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CLI, TempDir, tsbuild, tsbuildOk } from '../helpers/cli.js';
import { nativeAvailable } from '../../native/index.js';

const tmp = new TempDir();
after(() => tmp.cleanup());

test('dist/cli/main.js is the bundle, importing only Node built-ins', () => {
  const text = readFileSync(CLI, 'utf8');
  assert.match(text.split('\n')[1] ?? '', /tsbuild CLI bundle/, 'run `npm run build:ts` (tsc, then scripts/bundle-cli.mjs)');
  // Import statements (`import{a as b}from"node:fs";`) and literal dynamic imports.
  const statements = [...text.matchAll(/(?:^|;)import\s*(?:[\w$*{},\s]*?from\s*)?["']([^"']+)["']/gm)].map((m) => m[1]!);
  const dynamic = [...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!);
  // 'tsx/esm/api' is text inside a string: the bootstrap of a worker run from TypeScript sources (cache/pgzip.ts).
  const specifiers = [...statements, ...dynamic].filter((s) => s !== 'tsx/esm/api');
  assert.ok(specifiers.length > 0);
  assert.deepEqual(specifiers.filter((s) => !s.startsWith('node:')), [], 'static imports of non-built-in modules');
});

test('the bundle finds the native addon next to its source module', () => {
  const r = tsbuildOk(['version']);
  assert.match(r.stdout, new RegExp(`Native addon: ${nativeAvailable() ? 'loaded' : 'not'}`));
});

test('docker:// loads the registry client from inside the bundle', () => {
  // Nothing listens on port 1: the error must come from the registry client, not "not supported".
  const r = tsbuild(['pull', '--root', tmp.dir('store'), '--retry', '0', '--tls-verify=false', 'docker://127.0.0.1:1/x/y:latest']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /cannot talk to 127\.0\.0\.1:1: ECONNREFUSED/);
});

test('a build compresses its layer in the worker threads started from the bundle', () => {
  const ctx = tmp.dir('ctx');
  // Several MiB of text: more than one pgzip chunk, so the worker pool is used.
  tmp.file('ctx/big.txt', 'a line of text that compresses well\n'.repeat(200_000));
  tmp.file('ctx/Containerfile', 'FROM scratch\nCOPY big.txt /big.txt\n');
  const root = tmp.dir('store2');
  tsbuildOk(['build', '-q', '--root', root, '-t', 'localhost/bundle-check', ctx]);
  const inspect = JSON.parse(tsbuildOk(['inspect', '--root', root, 'localhost/bundle-check']).stdout) as { Manifest: { layers: { mediaType: string; size: number }[] } };
  const layer = inspect.Manifest.layers[0]!;
  assert.match(layer.mediaType, /gzip/);
  assert.ok(layer.size < 1_000_000, `compressed layer of ${layer.size} bytes`);
});
