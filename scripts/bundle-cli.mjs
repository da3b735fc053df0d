// Makes the `tsbuild` users run start fast. tsc's dist/cli/main.js imports ~180 dist modules and the
// npm packages; Node resolving, reading and compiling them one by one cost ~0.2 s of CPU per command
// (`tsbuild version` 0.31 s against 0.1 s for `node -e 0`). This script, run after tsc
// (`npm run build:ts` does both), writes:
//
//   dist/cli/tsbuild-<hash>.cjs      the CLI and everything it imports, as one CommonJS file (esbuild).
//                                    CommonJS, so a module reached only through import() — the
//                                    registry client — and the Node built-ins it requires are loaded
//                                    when first used, not at start.
//   dist/cli/tsbuild-<hash>.v8cache  V8's compiled code for it, made by running `tsbuild --help` once,
//   dist/cli/tsbuild-<hash>.build.v8cache: the same, made by running a build.
//                                    Node 20 has no compile cache of its own (22 has).
//   dist/cli/tsbuild-<hash2>.cjs, .v8cache: pull and push alone (cli/main-transfer.ts), its cache
//                                    made by running a push.
//   dist/cli/tsbuild.cjs             a few lines that run the bundle with that cache (bin/tsbuild runs it).
//   dist/cli/main.js                 replacing tsc's: runs tsbuild.cjs, for \`node dist/cli/main.js\`.
//
// <hash> is the bundle's content hash, so a cache can only ever be used with the code it was made
// from (V8 itself only compares the source length). The rest of dist/ stays as tsc wrote it: the
// library (dist/index.js), the tests, and the files started on their own (worker threads, the
// user-namespace helper), which the bundled code finds next to the modules it came from — each
// module's `import.meta.url` becomes the URL of its own file in dist/.
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(repo, 'dist');
const cliDir = join(dist, 'cli');
const entry = join(cliDir, 'main.js');
const MARK = '// tsbuild CLI loader (scripts/bundle-cli.mjs)';

const source = await readFile(entry, 'utf8');
if (source.includes(MARK)) {
  console.error(`${relative(repo, entry)} is already the loader: run tsc first (npm run build:ts does both)`);
  process.exit(1);
}

/** Every dist module keeps its own import.meta.url (relative to the bundle, so dist/ can move). */
const ownModuleUrl = {
  name: 'own-module-url',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, async (args) => {
      if (!args.path.startsWith(dist + sep)) return undefined;
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return { contents: text, loader: 'js' };
      const rel = relative(cliDir, args.path).split(sep).join('/');
      return { contents: text.replaceAll('import.meta.url', `__tsbuildModuleUrl(${JSON.stringify(rel)})`), loader: 'js' };
    });
  },
};

/**
 * commander requires node:child_process at load, for subcommands run as separate executables, which
 * tsbuild has none of. Loading it (with net and dgram) cost every command ~1 ms: commander gets a
 * stand-in that loads the real module on first use.
 */
const lazyChildProcessForCommander = {
  name: 'lazy-child-process-for-commander',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes(`${sep}node_modules${sep}commander${sep}`) ? { path: 'child_process', namespace: 'lazy-builtin' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, () => ({
      contents: 'module.exports = new Proxy({}, { get: (_, key) => require("node:child_process")[key] });',
      loader: 'js',
    }));
  },
};

// Two bundles: the whole CLI, and pull/push alone (cli/main-transfer.ts). A warm push is over in
// well under 0.1 s, a third of it Node's own start; the loading that comes on top shrinks with the
// code loaded (its V8 cache, read and deserialized at every start, is about a third smaller).
async function bundleOne(entryFile) {
  const result = await build({
    entryPoints: [entryFile],
    write: false,
    outfile: join(cliDir, 'tsbuild.cjs'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    banner: {
      js: [
        // The sources are ES modules, strict by definition; CommonJS is not unless told.
        '"use strict";',
        'const __tsbuildModuleUrl = (rel) => require("node:url").pathToFileURL(require("node:path").join(__dirname, rel)).href;',
      ].join('\n'),
    },
    // Whitespace and syntax only: stack traces (--debug) keep the real names.
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    sourcemap: 'external',
    legalComments: 'none',
    logLevel: 'warning',
    // Code V8 restores from a cache made in another process has lost Node's hook for import() (Node 20:
    // "A dynamic import callback was not specified"). import() of the CLI's own modules is resolved
    // inside the bundle anyway; any other (a Node built-in, a computed path) becomes require().
    supported: { 'dynamic-import': false },
    plugins: [ownModuleUrl, lazyChildProcessForCommander],
    define: { __TSBUILD_VERSION__: JSON.stringify(JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')).version) },
  });
  const code = result.outputFiles.find((f) => f.path.endsWith('.cjs'));
  const map = result.outputFiles.find((f) => f.path.endsWith('.cjs.map'));
  // The loader decodes the bundle as Latin-1, a plain copy into a one-byte V8 string. As UTF-8, a
  // single non-ASCII character (esbuild leaves them in regular expressions) made all 630 KB a
  // two-byte string: ~6 ms more to decode, and more to scan and collect, at every start.
  const nonAscii = /[^\x00-\x7f]/.exec(code.text);
  if (nonAscii) {
    const line = code.text.slice(0, nonAscii.index).split('\n').length;
    throw new Error(`${relative(repo, entryFile)}: the bundle has a non-ASCII character (${JSON.stringify(nonAscii[0])}, bundle line ${line}): write it as an escape in the source`);
  }
  const name = `tsbuild-${createHash('sha256').update(code.contents).digest('hex').slice(0, 16)}`;
  // The bundle is run inside a function wrapper (below), where a #! line would be a syntax error.
  await writeFile(join(cliDir, `${name}.cjs`), code.text.replace(/^#!.*\n/, '').trimEnd() + `\n//# sourceMappingURL=${name}.cjs.map\n`);
  await writeFile(join(cliDir, `${name}.cjs.map`), map.text);
  return name;
}

// Earlier bundles go first (a tsc run left main.js unbundled, so none is in use).
for (const f of await readdir(cliDir)) if (/^tsbuild-[0-9a-f]{16}\.(cjs|cjs\.map|([a-z-]+\.)?v8cache)$/.test(f)) await rm(join(cliDir, f), { force: true });
const name = await bundleOne(entry);
const transferName = await bundleOne(join(cliDir, 'main-transfer.js'));

// The loader is CommonJS: started as an ES module it would cost Node's ESM loader (~4 ms) first.
const loader = `#!/usr/bin/env node
${MARK}
// Runs ./${name}.cjs, the whole CLI in one file (or ./${transferName}.cjs, pull and push alone),
// with V8's compiled code from a ./<bundle>.*v8cache when there is one (all named by the bundle's
// hash, so they always belong together). A bundle has no import() of anything outside itself:
// restored code could not run one.
'use strict';
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const vm = require('node:vm');

// pull and push start from the smaller bundle made for them alone (cli/main-transfer.ts).
const command = process.argv[2];
const file = (suffix) => join(__dirname, (command === 'push' || command === 'pull' ? '${transferName}' : '${name}') + suffix);
const cacheFile = (use) => file(use === 'default' ? '.v8cache' : '.' + use + '.v8cache');
const bundle = file('.cjs');
// TSBUILD_MAKE_V8CACHE=USE: this run writes the cache for USE. Only scripts/bundle-cli.mjs sets it,
// at build time; a user's command never writes one.
const make = process.env.TSBUILD_MAKE_V8CACHE;
let cachedData;
if (!make) {
  // The cache made by running this very command, if there is one (build, push), else the general one.
  for (const use of [...(/^[a-z][a-z0-9-]*$/.test(command ?? '') ? [command] : []), 'default']) {
    try {
      cachedData = readFileSync(cacheFile(use));
      break;
    } catch {}
  }
}
if (cachedData || make) {
  // As Node's CommonJS loader would run it, but with the cached code. (Read whole, then decoded:
  // readFileSync(file, 'utf8') reads in 8 KiB pieces. Latin-1, because the build made sure the
  // bundle is ASCII: a copy, not a UTF-8 decode.)
  const wrapped = '(function (exports, require, module, __filename, __dirname) {' + readFileSync(bundle).toString('latin1') + '\\n})';
  const script = new vm.Script(wrapped, { filename: bundle, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, require, module, bundle, __dirname);
  if (make) {
    process.on('exit', () => {
      writeFileSync(cacheFile(make) + '.tmp', script.createCachedData());
      renameSync(cacheFile(make) + '.tmp', cacheFile(make));
    });
  }
} else {
  require(bundle);
}
`;
// dist/cli/main.js stays the module tsc's layout names (tests, \`node dist/cli/main.js\`); bin/tsbuild
// starts tsbuild.cjs directly.
const shim = `#!/usr/bin/env node
${MARK}
// The CLI is dist/cli/tsbuild.cjs (CommonJS: see scripts/bundle-cli.mjs); this runs it.
import { createRequire } from 'node:module';
createRequire(import.meta.url)('./tsbuild.cjs');
`;
const loaderFile = join(cliDir, 'tsbuild.cjs');
await writeFile(loaderFile + '.tmp', loader, { mode: 0o755 });
await chmod(loaderFile + '.tmp', 0o755);
await rename(loaderFile + '.tmp', loaderFile);
const tmp = entry + '.tmp';
await writeFile(tmp, shim, { mode: 0o755 });
await chmod(tmp, 0o755);
await rename(tmp, entry);
await rm(entry + '.map', { force: true }); // tsc's map of the file replaced

// The caches. V8 keeps the code of every function a run has compiled, so each is made by a run
// doing what the command usually does: the general one by `tsbuild --help` (the start of every
// command), `build`'s by a fully cached rebuild (the rest of a build runs long enough not to
// notice), the pull/push bundle's by a warm push to a registry. A failed run only leaves a command without its own.
/** Run the built CLI; its exit and the last line it wrote to stderr. */
async function runCli(args, env = {}) {
  // Asynchronous: the push the pull/push cache is made from talks to a server in this process.
  const child = spawn(process.execPath, [loaderFile, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const [status, signal] = await once(child, 'close');
  return { ok: status === 0, exit: status ?? signal, lastLine: stderr.trim().split('\n').pop() };
}

async function makeCache(use, args) {
  const r = await runCli(args, { TSBUILD_MAKE_V8CACHE: use });
  if (!r.ok) console.error(`note: no V8 code cache for ${use} (tsbuild ${args[0]} exited ${r.exit}: ${r.lastLine}); the CLI works without it, only slower to start`);
  return r.ok;
}

/**
 * Just enough of a registry for a warm push to run its course (every blob present, the manifest
 * taken), so the pull/push cache holds the registry client's code as a real push runs it. Only
 * this build step talks to it.
 */
async function warmPushTarget() {
  const server = createServer((req, res) => {
    req.resume();
    const status = req.method === 'PUT' ? 201 : req.url === '/v2/' || req.method === 'HEAD' ? 200 : 404;
    res.writeHead(status, { 'docker-distribution-api-version': 'registry/2.0', 'content-length': '0' }).end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { host: `127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}
await makeCache('default', ['--help']);
const work = await mkdtemp(join(tmpdir(), 'tsbuild-v8cache-'));
try {
  const ctx = join(work, 'context');
  await mkdir(ctx);
  await writeFile(join(ctx, 'Containerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\nENV GREETING=hello\nLABEL purpose=code-cache\n');
  await writeFile(join(ctx, 'hello.txt'), 'hello\n');
  const root = ['--root', join(work, 'store')];
  const image = 'localhost/tsbuild-code-cache:latest';
  const build = ['build', '-q', ...root, '-t', image, ctx];
  // First the build that fills the build cache, then the cached rebuild the cache is made from.
  const first = await runCli(build);
  if (!first.ok) console.error(`note: no V8 code cache for build or push (a warm-up build failed: ${first.lastLine})`);
  // The pull/push bundle's only cache (its default one), made by a warm push to a registry.
  else if (await makeCache('build', build)) {
    const target = await warmPushTarget();
    try {
      await makeCache('default', ['push', '-q', ...root, '--tls-verify=false', '--retry', '0', image, `docker://${target.host}/code-cache:warm`]);
    } finally {
      await target.close();
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
