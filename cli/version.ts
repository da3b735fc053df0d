import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

function findPackageJson(): string {
  // Works from cli/ (tsx) and from dist/cli/ (compiled).
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      return readFileSync(join(dir, 'package.json'), 'utf8');
    } catch {
      dir = dirname(dir);
    }
  }
  return '{"version":"0.0.0"}';
}

// The CLI bundle has the version written in at build time (scripts/bundle-cli.mjs defines
// __TSBUILD_VERSION__): reading package.json on every start cost ~0.7 ms. Elsewhere (tsc's dist/,
// tsx) the identifier does not exist and package.json is read.
declare const __TSBUILD_VERSION__: string | undefined;
export const VERSION: string = typeof __TSBUILD_VERSION__ === 'string' ? __TSBUILD_VERSION__ : JSON.parse(findPackageJson()).version;
