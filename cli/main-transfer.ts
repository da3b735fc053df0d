// `tsbuild pull` and `tsbuild push` alone: the entry of the CLI bundle that bin/tsbuild starts for
// those two commands (scripts/bundle-cli.mjs). The same commands, flags and errors as cli/main.ts,
// without the code of every other command to load first.
import { registerTransferCommands } from './commands/transfer.js';
import { createProgram, runProgram } from './program.js';

const program = createProgram();
registerTransferCommands(program);
runProgram(program);
