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

/**
 * Boolean flags that behave as buildah's (Go flags): `--NAME` alone is true, `--NAME=true` or
 * `--NAME=false` sets it, and the next word is never taken as the value, so `--layers .` keeps `.` as
 * the context. commander has no such kind (an optional value takes the next word; a switch refuses
 * `=value`): each is a switch with a hidden `--no-NAME`, and `--NAME=true|false` is rewritten to one
 * of the two before the command parses its options.
 */
export function goBooleanOptions(cmd: Command, flags: { name: string; description: string }[]): Command {
  for (const f of flags) cmd.option(`--${f.name}`, f.description).addOption(new Option(`--no-${f.name}`).hideHelp());
  const names = new Set(flags.map((f) => f.name));
  const parseOptions = cmd.parseOptions.bind(cmd);
  cmd.parseOptions = (args: string[]) => {
    const end = args.indexOf('--');
    return parseOptions(args.map((arg, i) => {
      const m = /^--([a-z-]+)=(.*)$/s.exec(arg);
      if (!m || !names.has(m[1]!) || (end >= 0 && i > end)) return arg;
      if (m[2] === 'true') return `--${m[1]}`;
      if (m[2] === 'false') return `--no-${m[1]}`;
      return cmd.error(`error: option '--${m[1]}' takes true or false, got '${m[2]}'`, { exitCode: 2, code: 'commander.invalidArgument' });
    }));
  };
  return cmd;
}

/**
 * Flags of `buildah bud` that tsbuild cannot honour. Declared (hidden) so that a script passing one
 * is told why, rather than "unknown option"; ignoring them would build something else than asked.
 */
export function refusedOptions(cmd: Command, flags: { flags: string; why: string }[]): Command {
  for (const f of flags) {
    const opt = new Option(f.flags).hideHelp();
    cmd.addOption(opt).on(`option:${opt.name()}`, () => {
      throw new UserError(`${opt.long} is not supported: ${f.why}`, { exitCode: 2 });
    });
  }
  return cmd;
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
