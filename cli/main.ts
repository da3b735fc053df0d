#!/usr/bin/env node
// The tsbuild command line: a thin client of the library API.
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
import { createProgram, runProgram } from './program.js';

// Start-up time matters (a no-op rebuild takes ~0.2 s in all): each command module declares its flags
// here, and loads what it runs (builder, store, registry client) with import() when it runs.

const program = createProgram();
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

runProgram(program);
