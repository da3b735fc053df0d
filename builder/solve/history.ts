// The `created_by` text of a step, the way BuildKit writes it: the instruction as one line
// (the parser's `original`), with ` # buildkit` after filesystem steps.
import type { Instruction } from '../containerfile/index.js';

export function instructionLine(ins: Instruction): string {
  return ins.original;
}

export function createdBy(ins: Instruction): string {
  return ins.kind === 'RUN' || ins.kind === 'COPY' || ins.kind === 'ADD' ? `${ins.original} # buildkit` : ins.original;
}
