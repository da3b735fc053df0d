// parseContainerfile: drives the scanner line by line, identifies each instruction, reads the
// heredoc bodies it opens, and hands it to instructions.ts.

import { UserError } from '../../oci/errors.js';
import { trimSpace } from './chars.js';
import { extractFlags, validateFlags } from './flags.js';
import { chompHeredoc, heredocOperatorsInLine } from './heredoc.js';
import { buildInstruction, isJSONForm, type BuildContext, type ReadHeredoc } from './instructions.js';
import { Scanner } from './scanner.js';
import { suggest } from './suggest.js';
import { INSTRUCTION_KINDS, type Instruction, type InstructionKind, type ParsedContainerfile, type Pos } from './types.js';

const HEREDOC_KINDS = new Set<InstructionKind>(['RUN', 'COPY', 'ADD']);

/** Splits `KEYWORD rest` on the first run of whitespace (BuildKit's `[\t\v\f\r ]+`). */
function splitKeyword(line: string): [string, string] {
  const t = trimSpace(line);
  const m = /[\t\v\f\r ]+/.exec(t);
  return m ? [t.slice(0, m.index), t.slice(m.index + m[0].length)] : [t, ''];
}

function toKind(keyword: string, pos: Pos): InstructionKind {
  const upper = keyword.toUpperCase();
  if ((INSTRUCTION_KINDS as readonly string[]).includes(upper)) return upper as InstructionKind;
  const guess = suggest(upper, INSTRUCTION_KINDS);
  throw new UserError(`unknown instruction: ${keyword}`, {
    location: { file: pos.file, line: pos.line, column: pos.column },
    hint: guess ? `did you mean ${guess}?` : undefined,
  });
}

export function parseContainerfile(text: string, file = 'Containerfile'): ParsedContainerfile {
  const scanner = new Scanner(text, file);
  const instructions: Instruction[] = [];

  for (let ll = scanner.nextLogicalLine(); ll; ll = scanner.nextLogicalLine()) {
    const escape = scanner.directives.values.escape;
    const headPos: Pos = { file, line: ll.startLine, endLine: ll.endLine, column: ll.column };
    const [keyword, argText] = splitKeyword(ll.text);
    const kind = toKind(keyword, headPos);

    // Which instruction decides about heredocs: ONBUILD defers to its trigger.
    let heredocKind: InstructionKind | undefined = kind;
    let heredocArgs = argText;
    if (kind === 'ONBUILD') {
      const [innerKeyword, innerArgs] = splitKeyword(extractFlags(argText).rest);
      heredocKind = INSTRUCTION_KINDS.find((k) => k === innerKeyword.toUpperCase());
      heredocArgs = innerArgs;
    }

    const heredocs: ReadHeredoc[] = [];
    if (heredocKind && HEREDOC_KINDS.has(heredocKind) && !isJSONForm(heredocArgs)) {
      for (const op of heredocOperatorsInLine(ll.text)) {
        const body = scanner.readHeredoc(op.name, op.chomp);
        if (!body.terminated) {
          throw new UserError(`unterminated heredoc: no line "${op.name}" ends the heredoc started here`, {
            location: { file, line: ll.startLine },
            hint: `end the heredoc with a line containing only ${op.name}`,
          });
        }
        heredocs.push({ ...op, content: op.chomp ? chompHeredoc(body.content) : body.content, rawContent: body.content });
      }
    }

    const endLine = scanner.currentLine;
    const pos: Pos = { ...headPos, endLine };
    const ctx: BuildContext = {
      pos,
      raw: scanner.source(ll.startLine, endLine),
      original: trimSpace(ll.text),
      escape,
      firstLine: scanner.source(ll.startLine, ll.startLine),
      heredocs,
    };
    instructions.push(kind === 'ONBUILD' ? buildOnbuild(argText, ctx) : buildInstruction(kind, argText, ctx));
  }

  if (instructions.length === 0) {
    throw new UserError('file with no instructions', { location: { file, line: Math.max(1, scanner.lineCount) } });
  }
  return { file, directives: { ...scanner.directives.values }, instructions };
}

function buildOnbuild(argText: string, ctx: BuildContext): Instruction {
  const location = { file: ctx.pos.file, line: ctx.pos.line };
  const { rest, words } = extractFlags(argText);
  const flags = validateFlags('ONBUILD', words, ctx.pos, ctx.firstLine);
  const triggerText = trimSpace(rest);
  if (triggerText === '') throw new UserError('ONBUILD requires at least one argument', { location });
  const [innerKeyword, innerArgs] = splitKeyword(triggerText);
  const upper = innerKeyword.toUpperCase();
  if (upper === 'ONBUILD') throw new UserError('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed', { location });
  if (upper === 'MAINTAINER' || upper === 'FROM') throw new UserError(`${upper} isn't allowed as an ONBUILD trigger`, { location });
  const innerKind = toKind(innerKeyword, ctx.pos);

  // The trigger is stored as text (it runs in a later build, which parses it again), so heredoc
  // bodies are appended verbatim, as BuildKit does.
  let trigger = ctx.original.replace(/^\s*ONBUILD\s*/i, '');
  for (const h of ctx.heredocs) trigger += '\n' + h.rawContent + h.name;

  const inner = buildInstruction(innerKind, innerArgs, { ...ctx, original: triggerText });
  return { pos: ctx.pos, raw: ctx.raw, original: ctx.original, flags, kind: 'ONBUILD', trigger, inner };
}
