// The `created_by` text of a step, the way BuildKit writes it: the instruction as one line
// (the parser's `original`), with ` # buildkit` after filesystem steps. RUN is BuildKit's
// `RUN [|N ARG=v...] <argv joined by spaces> # buildkit` (e.g. `RUN /bin/sh -c echo hi # buildkit`).
import type { Instruction } from '../containerfile/index.js';
import { runHistory } from '../steps/run-command.js';
import type { StageState } from './stage-state.js';

export function instructionLine(ins: Instruction): string {
  return ins.original;
}

export function createdBy(ins: Instruction, state?: StageState): string {
  if (ins.kind === 'RUN' && state) return runHistory(ins, state);
  return ins.kind === 'RUN' || ins.kind === 'COPY' || ins.kind === 'ADD' ? `${ins.original} # buildkit` : ins.original;
}
