// The `created_by` text of a step, the way BuildKit writes it: the instruction as one line
// (continuations joined, comment lines inside them dropped), with ` # buildkit` after
// filesystem steps.
import type { Instruction } from '../containerfile/index.js';

export function instructionLine(ins: Instruction, escape = '\\'): string {
  const lines = ins.raw.split('\n');
  if (lines.length === 1) return ins.raw.trim();
  const parts: string[] = [];
  for (const raw of lines) {
    const l = raw.trim();
    if (l === '' || l.startsWith('#')) continue;
    parts.push(l.endsWith(escape) ? l.slice(0, -escape.length).trim() : l);
  }
  return parts.join(' ');
}

export function createdBy(ins: Instruction, escape = '\\'): string {
  const text = "heredocs" in ins && ins.heredocs.length > 0 ? ins.raw.trim() : instructionLine(ins, escape);
  return ins.kind === 'RUN' || ins.kind === 'COPY' || ins.kind === 'ADD' ? `${text} # buildkit` : text;
}
