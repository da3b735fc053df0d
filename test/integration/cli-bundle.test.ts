// The `tsbuild` users run (dist/cli/main.js) is one bundled file (scripts/bundle-cli.mjs), and every
// CLI test runs that file. What bundling could break is checked here: the bundle must load nothing
// from dist/ or node_modules at start, and the things found through a module's own location (the
// native addon, the worker threads, the lazily loaded registry client) must still be found.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { isBuiltin } from 'node:module';
import { dirname, join } from 'node:path';
import vm from 'node:vm';
import { CLI, TempDir, tsbuild, tsbuildOk } from '../helpers/cli.js';
import { nativeAvailable } from '../../native/index.js';
import { REPO_ROOT } from '../helpers/busybox-image.js';

const tmp = new TempDir();
after(() => tmp.cleanup());

const LOADER = join(dirname(CLI), 'tsbuild.cjs');
const BIN = join(REPO_ROOT, 'bin', 'tsbuild');

test('dist/cli/main.js runs the bundles, which load only Node built-ins, with their V8 code caches', () => {
  assert.match(readFileSync(CLI, 'utf8').split('\n')[1] ?? '', /tsbuild CLI loader/, 'run `npm run build:ts` (tsc, then scripts/bundle-cli.mjs)');
  const loader = readFileSync(LOADER, 'utf8');
  assert.match(loader.split('\n')[1] ?? '', /tsbuild CLI loader/);
  // The whole CLI, and pull/push alone.
  const names = [...new Set([...loader.matchAll(/\.\/(tsbuild-[0-9a-f]{16})\.cjs/g)].map((m) => m[1]!))];
  assert.equal(names.length, 2, 'the loader names both bundles');
  const wrapped = /const wrapped = '([^']*)' \+ readFileSync\(bundle\)\.toString\('latin1'\) \+ '([^']*)'/.exec(loader);
  assert.ok(wrapped, 'the loader wraps the bundle as a function');
  const caches: Record<string, string[]> = { [names[0]!]: ['', '.build'], [names[1]!]: [''] };
  for (const name of names) {
    const text = readFileSync(join(dirname(CLI), `${name}.cjs`), 'utf8');
    const required = [...text.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!);
    assert.ok(required.length > 0);
    // The loader decodes the bundle as Latin-1, which reads it right only while it is all ASCII.
    assert.equal(/[^\x00-\x7f]/.exec(text)?.[0], undefined, `${name}: a non-ASCII character`);
    assert.deepEqual(required.filter((s) => !isBuiltin(s)), [], `${name}: modules loaded from outside the bundle`);
    // No import() left to Node: code restored from the V8 cache cannot run one. ('tsx/esm/api' is
    // text in a string, the bootstrap of a worker run from TypeScript sources: cache/pgzip.ts.)
    const imported = [...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!).filter((s) => s !== 'tsx/esm/api');
    assert.deepEqual(imported, [], `${name}: import() at run time`);
    // The V8 code caches made at build time for this very bundle (a missing or refused one only costs
    // start-up time, which is why it is checked here), compiled the way the loader does.
    for (const use of caches[name]!) {
      const cacheFile = join(dirname(CLI), `${name}${use}.v8cache`);
      assert.ok(existsSync(cacheFile), `no code cache ${cacheFile}`);
      const script: vm.Script = new vm.Script(wrapped[1] + text + wrapped[2]!.replace('\\n', '\n'), { cachedData: readFileSync(cacheFile) });
      assert.equal(script.cachedDataRejected, false, `V8 refused ${cacheFile}`);
    }
  }
  // The pull/push bundle is the smaller one: that is its reason to be.
  assert.ok(statSync(join(dirname(CLI), `${names[1]}.cjs`)).size < statSync(join(dirname(CLI), `${names[0]}.cjs`)).size * 0.75);
});

test('pull and push run from their own bundle, with the same flags and errors', () => {
  const help = tsbuildOk(['push', '--help']).stdout;
  assert.match(help, /--tls-verify/);
  const bad = tsbuild(['push', '--root', tmp.dir('store-bad'), 'no-such-image', 'oci:/tmp/x']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /no-such-image/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'a stack trace');
  const usage = tsbuild(['pull']);
  assert.equal(usage.status, 2, usage.stderr);
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

test('bin/tsbuild (the installed command) runs the CLI, wherever it is linked from', () => {
  const link = join(tmp.dir('bin'), 'tsbuild');
  symlinkSync(BIN, link);
  for (const cmd of [BIN, link]) {
    const r = spawnSync(cmd, ['version'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Version: /m);
  }
});

test('bin/tsbuild keeps NODE_EXTRA_CA_CERTS from Node start-up and reads it only to verify a registry', () => {
  // Node warns at start-up about an unreadable NODE_EXTRA_CA_CERTS: through bin/tsbuild it never
  // sees the variable, so a command without TLS says nothing...
  const missing = join(tmp.dir('ca'), 'missing.pem');
  const plain = spawnSync(BIN, ['version'], { encoding: 'utf8', env: { ...process.env, NODE_EXTRA_CA_CERTS: missing } });
  assert.equal(plain.status, 0, plain.stderr);
  assert.doesNotMatch(plain.stderr, /extra certs/i);
  const direct = spawnSync(process.execPath, [CLI, 'version'], { encoding: 'utf8', env: { ...process.env, NODE_EXTRA_CA_CERTS: missing } });
  assert.match(direct.stderr, /Ignoring extra certs/, 'the control: node itself reads it at start-up');
  // ...while a command that verifies a registry's certificate reads the file (and warns, as Node does).
  const pull = spawnSync(BIN, ['pull', '--root', tmp.dir('store3'), '--retry', '0', 'docker://127.0.0.1:1/x/y:latest'], { encoding: 'utf8', env: { ...process.env, NODE_EXTRA_CA_CERTS: missing } });
  assert.equal(pull.status, 1);
  assert.match(pull.stderr, /Ignoring extra certs from `.*missing\.pem`/);
});
