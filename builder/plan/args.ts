// ARG scoping with Docker's rules:
// - ARGs before the first FROM form the global scope, visible in FROM lines only;
// - inside a stage an ARG is visible from its declaration on; `ARG X` without a default takes the
//   build arg, else the global value of X;
// - ENV of the same name wins over ARG when expanding;
// - build args nobody declares draw a warning, and never reach the image.
import type { SourceLocation } from '../../oci/errors.js';
import type { Instruction } from '../containerfile/index.js';
import { expandWord } from '../containerfile/index.js';
import { PROXY_ARGS } from './platform.js';

type ArgInstruction = Extract<Instruction, { kind: 'ARG' }>;

export function globalArgScope(declared: ArgInstruction[], buildArgs: Map<string, string>, predefined: Map<string, string>, escape: string): Map<string, string> {
  const scope = new Map(predefined);
  for (const ins of declared) {
    for (const a of ins.args) {
      if (buildArgs.has(a.name)) scope.set(a.name, buildArgs.get(a.name)!);
      else if (a.default !== undefined) scope.set(a.name, expandWord(a.default, (n) => scope.get(n), escape, ins.pos));
      // Declared without a default and without a build arg: stays unset (but remembered as declared).
    }
  }
  return scope;
}

/** The ARG values a stage has declared so far; grows as ARG instructions execute. */
export class StageArgs {
  private readonly values = new Map<string, string>();

  constructor(
    private readonly buildArgs: Map<string, string>,
    private readonly globals: Map<string, string>,
    private readonly escape: string,
  ) {
    // Proxy args are usable without declaration, like BuildKit's predefined args.
    for (const p of PROXY_ARGS) if (buildArgs.has(p)) this.values.set(p, buildArgs.get(p)!);
  }

  /** Execute `ARG name[=default]`; `env` is consulted when expanding the default. */
  declare(name: string, defaultValue: string | undefined, env: Map<string, string>, location?: SourceLocation): void {
    if (this.buildArgs.has(name)) {
      this.values.set(name, this.buildArgs.get(name)!);
    } else if (defaultValue !== undefined) {
      this.values.set(name, expandWord(defaultValue, (n) => env.get(n) ?? this.values.get(n), this.escape, location));
    } else if (this.globals.has(name)) {
      this.values.set(name, this.globals.get(name)!);
    } else {
      this.values.delete(name);
    }
  }

  get(name: string): string | undefined {
    return this.values.get(name);
  }

  entries(): [string, string][] {
    return [...this.values.entries()];
  }
}

/** Build args that no ARG in any stage (or the global scope) declares and that are not predefined. */
export function unusedBuildArgs(buildArgs: Map<string, string>, declaredNames: Set<string>, predefined: Map<string, string>): string[] {
  // SOURCE_DATE_EPOCH is taken by the build itself (its times), declared or not.
  return [...buildArgs.keys()].filter((k) => !declaredNames.has(k) && !predefined.has(k) && !PROXY_ARGS.includes(k) && k !== 'SOURCE_DATE_EPOCH').sort();
}

/** Parse `--build-arg K=V` / `--build-arg K` (value from the environment; skipped when unset). */
export function parseBuildArgs(specs: string[], env: NodeJS.ProcessEnv = process.env): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of specs) {
    const eq = s.indexOf('=');
    if (eq === 0) continue;
    if (eq < 0) {
      if (env[s] !== undefined) out.set(s, env[s]!);
    } else out.set(s.slice(0, eq), s.slice(eq + 1));
  }
  return out;
}
