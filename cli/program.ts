// The frame of the tsbuild command line: the root command with its global options, and running it
// with one line and an exit code for any failure. cli/main.ts registers every command on it;
// cli/main-transfer.ts only pull and push, for the smaller CLI bundle those commands start from
// (scripts/bundle-cli.mjs): a warm push is over in well under 0.1 s, so loading less shows.
import { Command, Option } from 'commander';
import { reportError } from './errors.js';
import { interruptedStatus } from './signals.js';
import { isUserError } from '../oci/errors.js';
import { VERSION } from './version.js';

export function createProgram(): Command {
  // `tsbuild images | head -1`: the reader went away. That ends our output, not in a stack trace; any
  // running container is killed with us (its runtime helper has a parent-death signal).
  for (const name of ['stdout', 'stderr'] as const) {
    whenCreated(name, (stream) =>
      stream.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
        throw e;
      }),
    );
  }
  return new Command()
    .name('tsbuild')
    .description('Build OCI container images from Containerfiles, without a daemon.')
    .version(VERSION, '-v, --version')
    .addOption(new Option('--debug', 'print stack traces of internal errors'))
    // buildah and podman take --root before the command too (`buildah --root DIR images`).
    .addOption(new Option('--root <dir>', 'storage root directory, for every command (a command\'s own --root wins)'))
    .hook('preAction', (program, command) => {
      const root = program.opts<{ root?: string }>().root;
      if (root !== undefined && command !== program && command.opts<{ root?: string }>().root === undefined) command.setOptionValue('root', root);
    })
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) })
    .exitOverride();
}

export function runProgram(program: Command): void {
  // Errors say "run with --debug": accepted after the command too, not only before it.
  acceptEverywhere(program, () => new Option('--debug').hideHelp());
  const debug = process.argv.includes('--debug');
  // No top-level await: the bundle built from this file (scripts/bundle-cli.mjs) is CommonJS.
  program.parseAsync(process.argv).catch((e: unknown) => {
    const err = e as { code?: string; exitCode?: number };
    if (typeof err.code === 'string' && err.code.startsWith('commander.')) {
      // commander already printed its message (or help/version): keep its exit code, 2 for usage errors.
      process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2;
    } else if (interruptedStatus() !== undefined) {
      // Stopped because it was asked to (an aborted download, a killed step): that is the story,
      // with the status shells give the signal. Anything else that failed meanwhile is still shown.
      const aborted = (isUserError(e) && e.exitCode === 130) || (e as Error)?.name === 'AbortError';
      if (aborted) process.stderr.write('Error: interrupted\n');
      else reportError(e, debug);
      process.exitCode = interruptedStatus();
    } else {
      process.exitCode = reportError(e, debug);
    }
  });
}

/**
 * Run `then` on process.stdout or process.stderr when something first uses it. Node creates each on
 * first access (a pipe is a net.Socket): ~1 ms apiece that a quiet command (`push -q`) never needs.
 */
function whenCreated(name: 'stdout' | 'stderr', then: (stream: NodeJS.WriteStream) => void): void {
  const own = Object.getOwnPropertyDescriptor(process, name);
  if (!own?.get || !own.configurable) {
    then(process[name]);
    return;
  }
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: own.enumerable,
    get() {
      Object.defineProperty(process, name, own);
      const stream = own.get!.call(process) as NodeJS.WriteStream;
      then(stream);
      return stream;
    },
  });
}

function acceptEverywhere(cmd: Command, option: () => Option): void {
  for (const sub of cmd.commands) {
    const o = option();
    if (!sub.options.some((x) => x.long === o.long)) sub.addOption(o);
    acceptEverywhere(sub, option);
  }
}
