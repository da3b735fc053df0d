// What a RUN executes, and how its history line reads, following BuildKit's dockerfile2llb:
// shell form goes through the stage's SHELL; a RUN that is exactly one heredoc (`RUN <<EOF`) runs
// the body with the shell, or, when the body starts with `#!`, as a script file mounted read-only
// at /dev/pipes/<name>; any other heredoc use (`RUN python3 <<EOF`, several heredocs) is rebuilt into
// one script and left to the shell, which feeds the bodies to stdin / file descriptors itself.
import type { Instruction } from '../containerfile/index.js';
import { parseHeredocOperator } from '../containerfile/heredoc.js';
import { currentShell, envMap, type StageState } from '../solve/stage-state.js';

export type RunInstruction = Extract<Instruction, { kind: 'RUN' }>;

/** A script file the command needs: written to a temp dir bind-mounted read-only at PIPES_DIR. */
export interface InlineFile {
  name: string;
  content: string;
}

/** Where BuildKit mounts inline scripts; what the history line names. */
export const PIPES_DIR = '/dev/pipes';
/**
 * Where tsbuild really mounts them: the runtime mounts a fresh tmpfs on /dev after making mount
 * points, so a bind target below /dev would vanish. Outside /dev the mount point lives in the
 * runtime's throw-away init layer, like every other mount target.
 */
export const RUN_PIPES_DIR = '/run/tsbuild-pipes';

export interface RunCommand {
  /** As BuildKit records it (history). */
  args: string[];
  /** What is executed (differs from `args` only for shebang heredocs: RUN_PIPES_DIR). */
  execArgs: string[];
  files: InlineFile[];
}

export function runCommand(ins: RunInstruction, state: StageState): RunCommand {
  const files: InlineFile[] = [];
  let args: string[];
  let execArgs: string[] | undefined;
  if (ins.cmd.form === 'exec') {
    args = ins.cmd.args;
  } else {
    let script = ins.cmd.command;
    if (ins.heredocs.length > 0) {
      const first = ins.heredocs[0]!;
      // The parser already stripped `<<-` tabs from `content`.
      if (parseHeredocOperator(script.trim()) !== null) {
        if (first.content.startsWith('#!')) {
          files.push({ name: first.name, content: first.content });
          script = `${PIPES_DIR}/${first.name}`;
          execArgs = [...currentShell(state), `${RUN_PIPES_DIR}/${first.name}`];
        } else {
          script = first.content;
        }
      } else {
        for (const h of ins.heredocs) script += '\n' + h.content + h.name;
      }
    }
    args = [...currentShell(state), script];
  }
  return { args, execArgs: execArgs ?? args, files };
}

/**
 * BuildKit's `created_by` for RUN: `RUN [|N K=V ...] ARGS # buildkit`, listing the ARGs the stage
 * declared (with the value the step saw; ENV wins) so the line says what the step depended on.
 */
export function runHistory(ins: RunInstruction, state: StageState): string {
  const env = envMap(state.image.config);
  const argv = [...state.declaredArgs].map((k) => `${k}=${env.get(k) ?? state.args.get(k) ?? ''}`);
  const prefix = argv.length > 0 ? [`|${argv.length}`, ...argv] : [];
  return `RUN ${[...prefix, ...runCommand(ins, state).args].join(' ')} # buildkit`;
}

/** The step's environment: image ENV plus the stage's ARG values (not saved in the config; ENV wins). */
export function runEnv(state: StageState): Map<string, string> {
  const env = envMap(state.image.config);
  const out = new Map<string, string>();
  for (const [k, v] of state.args.entries()) if (!env.has(k)) out.set(k, v);
  for (const [k, v] of env) out.set(k, v);
  return out;
}
