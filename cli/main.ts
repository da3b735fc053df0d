#!/usr/bin/env node
// The tsbuild command line: a thin client of the library API.
import { Command, Option } from 'commander';
import { reportError } from './errors.js';
import { registerBuild } from './commands/build.js';
import { registerImageCommands } from './commands/images.js';
import { registerTransferCommands } from './commands/transfer.js';
import { registerInfo } from './commands/info.js';
import { registerPrune } from './commands/prune.js';
import { registerRun } from './commands/run.js';
import { registerLoginCommands } from './commands/login.js';
import { registerS2I } from './commands/s2i.js';
import { registerCheckStore } from './commands/check-store.js';
import { registerHistory } from './commands/history.js';
import { registerVersion } from './commands/version.js';
import { addExamples } from './help.js';
import { VERSION } from './version.js';

// Start-up time matters (a no-op rebuild takes ~0.2 s in all): each command module declares its flags
// here, and loads what it runs (builder, store, registry client) with import() when it runs.

const debug = process.argv.includes('--debug');

// `tsbuild images | head -1`: the reader went away. That ends our output, not in a stack trace; any
// running container is killed with us (its runtime helper has a parent-death signal).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

const program = new Command();
program
  .name('tsbuild')
  .description('Build OCI container images from Containerfiles, without a daemon.')
  .version(VERSION, '-v, --version')
  .addOption(new Option('--debug', 'print stack traces of internal errors'))
  .enablePositionalOptions()
  .showHelpAfterError('(add --help for usage)')
  .configureOutput({ outputError: (str, write) => write(str) })
  .exitOverride();

registerBuild(program);
registerImageCommands(program);
registerTransferCommands(program);
registerInfo(program);
registerPrune(program);
registerRun(program);
registerLoginCommands(program);
registerS2I(program);
registerCheckStore(program);
registerHistory(program);
registerVersion(program);
addExamples(program);

// No top-level await: the bundle built from this file (scripts/bundle-cli.mjs) is CommonJS.
program.parseAsync(process.argv).catch((e: unknown) => {
  const err = e as { code?: string; exitCode?: number };
  if (typeof err.code === 'string' && err.code.startsWith('commander.')) {
    // commander already printed its message (or help/version): keep its exit code, 2 for usage errors.
    process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2;
  } else {
    process.exitCode = reportError(e, debug);
  }
});
