// The typed shape of a parsed Containerfile. Everything here is *unexpanded*: variable expansion
// needs the live ARG/ENV scope, which only the planner has (see expansion.ts and lexer.ts).

export interface Pos {
  file: string;
  /** 1-based line where the instruction starts. Errors point here. */
  line: number;
  /** 1-based last line (continuations and heredoc bodies included). */
  endLine: number;
  /** 1-based column, when known. */
  column?: number;
}

/** `--from=x` → {name:'from', value:'x'}; `--link` → value null. Quotes are already removed. */
export interface Flag {
  name: string;
  value: string | null;
  pos: Pos;
}

export type CommandForm = { form: 'exec'; args: string[] } | { form: 'shell'; command: string };

export interface Heredoc {
  /** The delimiter word without quotes; for COPY/ADD it is also the file name. */
  name: string;
  /**
   * The body, each line ending in its newline. When `chomp` is set the leading tabs are already
   * stripped here (BuildKit strips them later, at dispatch; doing it once here means no consumer
   * can forget).
   */
  content: string;
  /** False when any part of the delimiter was quoted (`<<"EOF"`, `<<'EOF'`, `<<E"O"F`). */
  expand: boolean;
  /** `<<-EOF`: leading tabs stripped from body lines and from the terminator line. */
  chomp: boolean;
  /** `3<<EOF` → 3. Absent when not given. */
  fileDescriptor?: number;
}

interface Common {
  pos: Pos;
  /** Verbatim source text of the instruction: continuation lines and heredoc bodies included. */
  raw: string;
  /**
   * The logical line as BuildKit sees it: continuations joined (escape char and newline removed),
   * comment lines inside continuations dropped, heredoc bodies not included. What `docker history`
   * shows as the instruction.
   */
  original: string;
  flags: Flag[];
}

export interface HealthcheckTimings {
  /** Durations in nanoseconds (Go's time.Duration unit, what the image config stores). */
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

export type Instruction = Common &
  (
    | { kind: 'FROM'; image: string; alias?: string }
    | { kind: 'RUN'; cmd: CommandForm; heredocs: Heredoc[] }
    | { kind: 'CMD' | 'ENTRYPOINT'; cmd: CommandForm }
    | { kind: 'SHELL'; args: string[] }
    | { kind: 'LABEL' | 'ENV'; pairs: { key: string; value: string }[] }
    | { kind: 'ARG'; args: { name: string; default?: string }[] }
    | { kind: 'EXPOSE'; ports: string[] }
    | { kind: 'VOLUME'; paths: string[] }
    | { kind: 'USER'; user: string }
    | { kind: 'WORKDIR'; path: string }
    | { kind: 'COPY' | 'ADD'; sources: string[]; dest: string; heredocs: Heredoc[]; json: boolean }
    | { kind: 'ONBUILD'; trigger: string; inner: Instruction }
    | { kind: 'STOPSIGNAL'; signal: string }
    | ({ kind: 'HEALTHCHECK'; none: true } & HealthcheckTimings)
    | ({ kind: 'HEALTHCHECK'; none: false; cmd: CommandForm } & HealthcheckTimings)
    | { kind: 'MAINTAINER'; name: string }
  );

export type InstructionKind = Instruction['kind'];

/** The variant for one kind, e.g. `InstructionOf<'COPY'>` (works for the shared COPY|ADD variant too). */
export type InstructionOf<K extends InstructionKind> = Instruction & { kind: K };

export const INSTRUCTION_KINDS: readonly InstructionKind[] = [
  'FROM', 'RUN', 'CMD', 'LABEL', 'MAINTAINER', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT',
  'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL',
];

export interface Directives {
  /** The escape character: `\` (default) or a backtick. Pass it to expandWord/expandWords. */
  escape: string;
  syntax?: string;
  check?: string;
}

export interface ParsedContainerfile {
  file: string;
  directives: Directives;
  /** In source order; ARGs before the first FROM are simply the instructions before it. */
  instructions: Instruction[];
}
