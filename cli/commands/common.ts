// Options and helpers several commands share.
import { Option, type Command } from 'commander';
import type { Store } from '../../cache/store.js';
import { UserError } from '../../oci/errors.js';
import { parseSecurityOpts } from '../../builder/steps/run-options.js';

export function rootOption(cmd: Command): Command {
  return cmd.addOption(new Option('--root <dir>', 'storage root directory (default: $TSBUILD_ROOT, /var/lib/tsbuild as root, ~/.local/share/tsbuild otherwise)'));
}

export async function storeFor(opts: { root?: string }): Promise<Store> {
  // Loaded here, not at start: `tsbuild version` or `--help` need no store (see cli/main.ts).
  const { defaultStoreRoot, openStore } = await import('../../cache/store.js');
  return openStore(opts.root ?? defaultStoreRoot());
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function parseSeconds(value: string, flag: string): number {
  if (!/^[0-9]+$/.test(value)) throw new UserError(`${flag} must be whole seconds since the epoch, got "${value}"`);
  return Number(value);
}

/** --security-opt (build, run): only a seccomp=unconfined reaches the runtime (the default filter is on). */
export function securityOptions(opts: string[]): { seccomp?: false } {
  try {
    return parseSecurityOpts(opts).seccomp ? {} : { seccomp: false };
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}
