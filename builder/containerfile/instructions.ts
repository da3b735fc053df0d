// One logical line (keyword already identified, heredoc bodies already read) → one typed
// Instruction, with BuildKit's per-instruction argument rules and error messages.

import { UserError } from '../../oci/errors.js';
import { NotStringArrayError, parseJSONArray, parseWords, splitWhitespace, WHITESPACE_RE } from './args.js';
import { trimSpace } from './chars.js';
import { parseDuration } from './duration.js';
import { extractFlags, validateFlags } from './flags.js';
import { parseHeredocOperator } from './heredoc.js';
import type { CommandForm, Flag, Heredoc, HealthcheckTimings, Instruction, InstructionKind, Pos } from './types.js';

/** A heredoc as read from the file, before `<<-` tab stripping (ONBUILD needs the verbatim body). */
export interface ReadHeredoc extends Heredoc {
  rawContent: string;
}

export interface BuildContext {
  pos: Pos;
  raw: string;
  original: string;
  escape: string;
  /** The first physical line, for flag columns. */
  firstLine: string;
  heredocs: ReadHeredoc[];
}

const STAGE_NAME_RE = /^[a-z][a-z0-9-_.]*$/;
const MIN_HEALTHCHECK_NS = 1e6; // Docker's container.MinimumDuration (1ms)

function publicHeredoc(h: ReadHeredoc): Heredoc {
  const { rawContent: _raw, ...rest } = h;
  return rest;
}

/** Whether the instruction's arguments (after its flags) are in JSON form; such lines take no heredocs. */
export function isJSONForm(argText: string): boolean {
  try {
    return parseJSONArray(trimSpace(extractFlags(argText).rest)) !== undefined;
  } catch {
    return false;
  }
}

export function buildInstruction(kind: InstructionKind, argText: string, ctx: BuildContext): Instruction {
  const location = { file: ctx.pos.file, line: ctx.pos.line };
  const fail = (message: string, hint?: string): never => {
    throw new UserError(message, { location, hint });
  };
  const { rest, words } = extractFlags(argText);
  const args = trimSpace(rest);
  const flags: Flag[] = validateFlags(kind, words, ctx.pos, ctx.firstLine);
  const common = { pos: ctx.pos, raw: ctx.raw, original: ctx.original, flags };

  const json = (text: string): string[] | undefined => {
    try {
      return parseJSONArray(text);
    } catch (e) {
      if (e instanceof NotStringArrayError) return fail(e.message);
      throw e;
    }
  };
  // RUN/CMD/ENTRYPOINT: JSON if it parses as a string array, otherwise the text is a shell command.
  const commandForm = (text: string): CommandForm => {
    const arr = json(text);
    return arr ? { form: 'exec', args: arr } : { form: 'shell', command: text };
  };
  const exactlyOne = (): string => (args === '' ? fail(`${kind} requires exactly one argument`) : args);

  switch (kind) {
    case 'FROM': {
      const w = splitWhitespace(args);
      if (w.length === 3 && w[1]!.toLowerCase() === 'as') {
        // Stage names are case-insensitive; BuildKit lowercases them.
        const alias = w[2]!.toLowerCase();
        if (!STAGE_NAME_RE.test(alias)) {
          fail(`invalid name for build stage: "${w[2]}", name can't start with a number or contain symbols`);
        }
        return { ...common, kind, image: w[0]!, alias };
      }
      if (w.length !== 1) {
        const hint =
          w.length === 2 && w[1]!.toLowerCase() === 'as' ? 'name the stage: FROM <image> AS <name>'
          : w.length === 0 ? 'FROM <image> [AS <name>]'
          : undefined;
        fail('FROM requires either one or three arguments', hint);
      }
      return { ...common, kind, image: w[0]! };
    }

    case 'RUN': {
      if (args === '') fail('RUN requires at least one argument');
      const cmd = commandForm(args);
      if (cmd.form === 'exec' && cmd.args.length === 0) fail('RUN requires at least one argument', 'the exec form `RUN []` names no command to run');
      return { ...common, kind, cmd, heredocs: cmd.form === 'shell' ? ctx.heredocs.map(publicHeredoc) : [] };
    }

    case 'CMD':
    case 'ENTRYPOINT': {
      if (args === '') fail(`${kind} requires at least one argument`, `to clear it, write ${kind} []`);
      return { ...common, kind, cmd: commandForm(args) };
    }

    case 'SHELL': {
      if (args === '') fail('SHELL requires at least one argument');
      const arr = json(args);
      if (!arr) fail('SHELL requires the arguments to be in JSON form', 'SHELL ["/bin/sh", "-c"]');
      if (arr!.length === 0) fail('SHELL requires at least one argument');
      return { ...common, kind, args: arr! };
    }

    case 'ENV':
    case 'LABEL': {
      const pairs = parseKeyValues(args, kind, ctx.escape, fail);
      if (pairs.length === 0) fail(`${kind} requires at least one argument`);
      if (pairs.some((p) => p.key === '')) fail(`${kind} names can not be blank`);
      return { ...common, kind, pairs };
    }

    case 'ARG': {
      const w = parseWords(args, ctx.escape);
      if (w.length === 0) fail('ARG requires at least one argument');
      const list = w.map((word) => {
        const eq = word.indexOf('=');
        if (eq < 0) return { name: word };
        if (eq === 0) return fail('ARG names can not be blank');
        return { name: word.slice(0, eq), default: word.slice(eq + 1) };
      });
      return { ...common, kind, args: list };
    }

    case 'EXPOSE': {
      const ports = splitWhitespace(args);
      if (ports.length === 0) fail('EXPOSE requires at least one argument');
      return { ...common, kind, ports };
    }

    case 'VOLUME': {
      const list = json(args) ?? splitWhitespace(args);
      if (list.length === 0) fail('VOLUME requires at least one argument');
      const paths = list.map((v) => trimSpace(v));
      if (paths.some((p) => p === '')) fail('VOLUME specified can not be an empty string');
      return { ...common, kind, paths };
    }

    case 'USER':
      return { ...common, kind, user: exactlyOne() };
    case 'WORKDIR':
      return { ...common, kind, path: exactlyOne() };
    case 'STOPSIGNAL':
      return { ...common, kind, signal: exactlyOne() };
    case 'MAINTAINER':
      return { ...common, kind, name: exactlyOne() };

    case 'COPY':
    case 'ADD': {
      const arr = json(args);
      const list = arr ?? splitWhitespace(args);
      if (list.length < 2) {
        fail(
          `${kind} requires at least two arguments, but ${list.length === 1 ? 'only one was' : 'none were'} provided. Destination could not be determined`,
          `${kind} <src>... <dest>`,
        );
      }
      const dest = list[list.length - 1]!;
      const isJSON = arr !== undefined;
      if (!isJSON && parseHeredocOperator(dest)) fail(`${kind} cannot accept a heredoc as a destination`);
      const sources: string[] = [];
      const heredocs: Heredoc[] = [];
      for (const src of list.slice(0, -1)) {
        const op = isJSON ? null : parseHeredocOperator(src);
        const doc = op && ctx.heredocs.find((h) => h.name === op.name);
        if (doc) heredocs.push(publicHeredoc(doc));
        else sources.push(src);
      }
      return { ...common, kind, sources, dest, heredocs, json: isJSON };
    }

    case 'HEALTHCHECK': {
      const h = healthcheck(args, flags, ctx, fail);
      return h.none ? { ...common, ...h } : { ...common, ...h };
    }

    case 'ONBUILD':
      // Handled by the caller, which needs to parse the trigger as an instruction of its own.
      throw new Error('ONBUILD must be built with buildOnbuild');
  }
}

/**
 * ENV and LABEL: `key=value ...`, or the legacy `ENV key value` (the first word has no `=`: the
 * key is the first word and the value everything after it). Keys and values keep their quotes;
 * expansion removes them.
 */
function parseKeyValues(
  args: string,
  kind: 'ENV' | 'LABEL',
  escape: string,
  fail: (m: string, h?: string) => never,
): { key: string; value: string }[] {
  const words = parseWords(args, escape);
  if (words.length === 0) return [];
  if (!words[0]!.includes('=')) {
    const m = WHITESPACE_RE.exec(args);
    if (!m) return fail(`${kind} must have two arguments`, `${kind} ${args}=<value>`);
    return [{ key: args.slice(0, m.index), value: args.slice(m.index + m[0].length) }];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) return fail(`Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    return { key: w.slice(0, eq), value: w.slice(eq + 1) };
  });
}

type HealthcheckBody =
  | ({ kind: 'HEALTHCHECK'; none: true } & HealthcheckTimings)
  | ({ kind: 'HEALTHCHECK'; none: false; cmd: CommandForm } & HealthcheckTimings);

function healthcheck(
  args: string,
  flags: Flag[],
  ctx: BuildContext,
  fail: (m: string, h?: string) => never,
): HealthcheckBody {
  if (args === '') fail('HEALTHCHECK requires at least one argument', 'HEALTHCHECK [options] CMD <command>, or HEALTHCHECK NONE');
  const m = /\s/.exec(args);
  const typ = (m ? args.slice(0, m.index) : args).toUpperCase();
  const rest = m ? args.slice(m.index).trimStart() : '';

  const timings: HealthcheckTimings = {};
  const location = { file: ctx.pos.file, line: ctx.pos.line };
  for (const f of flags) {
    const v = f.value ?? '';
    if (v === '') continue; // BuildKit treats an empty value as "not given"
    if (f.name === 'retries') {
      if (!/^[+-]?\d+$/.test(v)) fail(`invalid value for --retries: "${v}" is not an integer`);
      const n = Number.parseInt(v, 10);
      if (n < 1) fail(`--retries must be at least 1 (not ${n})`);
      timings.retries = n;
      continue;
    }
    const ns = parseDuration(v, location);
    if (ns !== 0 && ns < MIN_HEALTHCHECK_NS) fail(`Interval "${f.name}" cannot be less than 1ms`);
    const key = ({ interval: 'interval', timeout: 'timeout', 'start-period': 'startPeriod', 'start-interval': 'startInterval' } as const)[
      f.name as 'interval'
    ];
    timings[key] = ns;
  }

  if (typ === 'NONE') {
    if (rest !== '') fail('HEALTHCHECK NONE takes no arguments');
    return { kind: 'HEALTHCHECK', none: true, ...timings };
  }
  if (typ !== 'CMD') fail(`Unknown type "${typ}" in HEALTHCHECK (try CMD)`);
  let cmd: CommandForm;
  try {
    const arr = parseJSONArray(rest);
    cmd = arr ? { form: 'exec', args: arr } : { form: 'shell', command: rest };
  } catch (e) {
    if (e instanceof NotStringArrayError) fail(e.message);
    throw e;
  }
  if ((cmd.form === 'exec' && cmd.args.length === 0) || (cmd.form === 'shell' && cmd.command === '')) {
    fail('Missing command after HEALTHCHECK CMD');
  }
  return { kind: 'HEALTHCHECK', none: false, cmd, ...timings };
}
