// Turns tsc's dist/cli/main.js (and the ~180 dist modules and npm packages it imports) into one
// file at the same path, the `tsbuild` users run. Node then reads, resolves and compiles one file
// instead of ~200: `tsbuild version` went from ~0.31 s to ~0.15 s of CPU here.
//
// Run after tsc (`npm run build:ts` does both). The rest of dist/ stays as tsc wrote it: the
// library (dist/index.js), the tests, and the files started on their own (worker threads, the
// user-namespace helper), which the bundled code finds next to the modules it came from — each
// module's `import.meta.url` is rewritten to the URL of its own file in dist/, so paths computed
// from it mean what they meant before bundling.
import { build } from 'esbuild';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(repo, 'dist');
const entry = join(dist, 'cli', 'main.js');
const MARK = '// tsbuild CLI bundle (scripts/bundle-cli.mjs)';

const source = await readFile(entry, 'utf8');
if (source.includes(MARK)) {
  console.error(`${relative(repo, entry)} is already the bundle: run tsc first (npm run build:ts does both)`);
  process.exit(1);
}

/** Every dist module keeps its own import.meta.url (relative to the bundle, so dist/ can move). */
const ownMetaUrl = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, async (args) => {
      if (!args.path.startsWith(dist + sep)) return undefined;
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return { contents: text, loader: 'js' };
      const rel = relative(dirname(entry), args.path).split(sep).join('/');
      const url = `new URL(${JSON.stringify(rel)}, import.meta.url).href`;
      return { contents: text.replaceAll('import.meta.url', url), loader: 'js' };
    });
  },
};

const tmp = entry + '.bundle-tmp';
await build({
  entryPoints: [entry],
  outfile: tmp,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The bundled CommonJS packages (commander, tar-stream) call require() for Node's built-ins.
  banner: { js: `${MARK}\nimport { createRequire as __tsbuildCreateRequire } from 'node:module';\nconst require = __tsbuildCreateRequire(import.meta.url);` },
  // Whitespace and syntax only: stack traces (--debug) keep the real names.
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [ownMetaUrl],
});
// tsc's shebang line is kept by esbuild; the bundle replaces the entry in one rename.
const out = await readFile(tmp, 'utf8');
const map = tmp + '.map';
await writeFile(tmp, out.replace(/\/\/# sourceMappingURL=.*$/m, '//# sourceMappingURL=main.js.map'));
await rename(map, entry + '.map');
await rename(tmp, entry);
