// What a stage is while it builds: the image config so far, its layers and history, its ARG
// scope. Steps read and update it; the solver turns the final state into an image.
import type { ContainerConfig, HistoryEntry, ImageConfig, Platform } from '../../oci/types.js';
import type { StageArgs } from '../plan/args.js';
import type { Stage } from '../plan/stages.js';

export interface LayerRef {
  diffID: string;
  digest: string;
  size: number;
  mediaType: string;
}

export interface StageState {
  stage: Stage;
  platform: Platform;
  /** Image config; `config.config` is the container config the steps edit. */
  image: ImageConfig & { config: ContainerConfig };
  layers: LayerRef[];
  history: HistoryEntry[];
  args: StageArgs;
  /** Names of ARGs this stage declared, for the unused-build-arg warning. */
  declaredArgs: Set<string>;
  escape: string;
  /** Whether CMD was set in this stage (an ENTRYPOINT then keeps it; else it resets CMD). */
  cmdSetInStage: boolean;
}

export const DEFAULT_SHELL = ['/bin/sh', '-c'];
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** ENV of the container config as a map (later entries win, as in Docker). */
export function envMap(cfg: ContainerConfig): Map<string, string> {
  const m = new Map<string, string>();
  for (const kv of cfg.Env ?? []) {
    const eq = kv.indexOf('=');
    if (eq < 0) m.set(kv, '');
    else m.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return m;
}

export function setEnv(cfg: ContainerConfig, key: string, value: string): void {
  const env = cfg.Env ?? [];
  const i = env.findIndex((kv) => kv === key || kv.startsWith(key + '='));
  if (i >= 0) env[i] = `${key}=${value}`;
  else env.push(`${key}=${value}`);
  cfg.Env = env;
}

/** Variable lookup for word expansion: ENV wins over ARG (Docker's rule). */
export function expansionLookup(state: StageState): (name: string) => string | undefined {
  const env = envMap(state.image.config);
  return (name) => (env.has(name) ? env.get(name) : state.args.get(name));
}

export function currentShell(state: StageState): string[] {
  return state.image.config.Shell && state.image.config.Shell.length > 0 ? state.image.config.Shell : DEFAULT_SHELL;
}

export function currentWorkdir(state: StageState): string {
  return state.image.config.WorkingDir || '/';
}
