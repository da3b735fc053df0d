// Which parts of which instructions Docker expands variables in (BuildKit's dispatchers). The
// parser leaves everything unexpanded; the planner expands at build time with the live ARG/ENV
// scope, using expandWord / expandWords with the file's escape directive.
//
//   FROM        image (global ARGs only), --platform
//   ENV, LABEL  keys and values
//   ARG         defaults (not names)
//   COPY, ADD   sources, dest, --from --chown --chmod --checksum --exclude; heredoc bodies when
//               heredoc.expand (with `\` as escape and quotes kept: expandHeredocBody)
//   EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL   their arguments
//   RUN         --mount values only; the command itself is left to the shell
//   CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER   nothing

import type { InstructionKind } from './types.js';

const EXPANDING = new Set<InstructionKind>([
  'ADD', 'COPY', 'ENV', 'EXPOSE', 'FROM', 'LABEL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR', 'ARG',
]);

const EXPANDING_FLAGS: Partial<Record<InstructionKind, ReadonlySet<string>>> = {
  FROM: new Set(['platform']),
  COPY: new Set(['from', 'chown', 'chmod', 'exclude']),
  ADD: new Set(['chown', 'chmod', 'checksum', 'exclude']),
  RUN: new Set(['mount']),
};

/** True when Docker expands variables in the instruction's arguments (for ARG: its defaults). */
export function expandsVariables(kind: InstructionKind): boolean {
  return EXPANDING.has(kind);
}

/** True when Docker expands variables in the value of `--flag` on `kind`. */
export function expandsFlag(kind: InstructionKind, flag: string): boolean {
  return EXPANDING_FLAGS[kind]?.has(flag) ?? false;
}
