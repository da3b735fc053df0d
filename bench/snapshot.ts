// A private copy of the compiled tsbuild for the length of a benchmark run. dist/ is shared with
// everyone working in this tree: a rebuild half-way through a 20-minute run would otherwise make a
// timed build load a mix of old and new modules (or fail on a module being rewritten).
import { cpSync, mkdirSync, rmSync, symlinkSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TsbuildSnapshot {
  /** The copy's bin/tsbuild: what users run (it starts dist/cli/tsbuild.cjs with Node). */
  command: string;
  remove(): void;
}

export function snapshotTsbuild(repo: string, dir: string): TsbuildSnapshot {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(repo, 'dist'), join(dir, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') && !src.endsWith('.d.ts') });
  copyFileSync(join(repo, 'package.json'), join(dir, 'package.json')); // "type": "module", and the version
  cpSync(join(repo, 'bin'), join(dir, 'bin'), { recursive: true });
  // Dependencies and the native addon (built by setup.sh, not by tsc) are read where they are.
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  symlinkSync(join(repo, 'native'), join(dir, 'native'));
  return { command: join(dir, 'bin', 'tsbuild'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
