// Cache keys of build steps (the contract in shared/design/architecture.md):
//   key = sha256(parent key, the step's named inputs)
// where the parent key is the previous step's key, or for a stage's first step the stage root key
// (base image manifest digest / base stage's result key / scratch, plus platform, format and the
// timestamp options that change layers). The inputs per kind:
//   metadata (ENV, LABEL, USER, WORKDIR...): the instruction and the config it produced (applied
//     before keying, so expansions are in); ARG: the instruction only — its value feeds the steps
//     that use it, so a changed build arg rebuilds from its first use, not from its declaration;
//   COPY/ADD: the expanded request (sources, dest, flags, heredoc bodies), and the content+metadata
//     of exactly the files it selects (context) or the source stage's result key / image digest;
//   RUN: the expanded command, shell, user, workdir, network, every ARG and ENV it sees, its mounts
//     (bind: content of the bound files; from=: stage key or image digest; secrets: ids, never values).
// Inputs are kept per key so a miss can say which one changed (explainMiss); the per-file digests of a
// COPY's selection are kept beside them (FileDigests), outside the key, which `selection` covers.
import { createHash } from 'node:crypto';
import type { StepInputs } from '../../cache/build-cache.js';
import type { Instruction } from '../containerfile/index.js';
import type { ContextHasher, SelectionDigest } from '../context/hash.js';
import { isMetadataInstruction } from '../steps/metadata.js';
import { copyRequest } from '../steps/copy-step.js';
import { buildContextSource } from '../steps/copy-source.js';
import { isUrl } from '../steps/add-url.js';
import { runCommand } from '../steps/run-command.js';
import { parseRunFlags } from '../steps/run-flags.js';
import { defaultRunOptions } from '../steps/run-options.js';
import { envMap, currentShell, currentWorkdir, type StageState } from './stage-state.js';
import type { StepContext } from './solver.js';
import { resolveFromRef } from './from-ref.js';
import type { SourceLocation } from '../../oci/errors.js';

/**
 * `file:PATH` (or `file:<mount> seed:PATH`) → short digest of that file's content and metadata: kept
 * apart from the named inputs because the key does not need them (the `selection` or mount input
 * already covers every file), only an explanation of a miss does, and a COPY of 20,000 files made an
 * object of 20,000 keys to build, sort and hash.
 */
export type FileDigests = Map<string, string>;

export interface StepKey {
  key: string;
  inputs: StepInputs;
  files?: FileDigests;
  /** Set when this step must always run (and why), e.g. ADD of a URL without --checksum. */
  uncacheable?: string;
}

export interface KeyContext {
  step: StepContext;
  hasher: ContextHasher;
  /** Result key of an earlier stage (COPY --from, RUN --mount from=, FROM stage). */
  stageKey(index: number): Promise<string>;
}

export function digestOf(parent: string, inputs: StepInputs): string {
  const h = createHash('sha256');
  h.update(parent + '\n');
  // Lines go to the hash in ~64 KiB batches (the same bytes): a COPY of 20,000 files has as many inputs.
  let batch = '';
  for (const k of Object.keys(inputs).sort()) {
    batch += `${k}\0${inputs[k]}\n`;
    if (batch.length >= 65536) {
      h.update(batch);
      batch = '';
    }
  }
  h.update(batch);
  return 'sha256:' + h.digest('hex');
}

function sha(s: string): string {
  return 'sha256:' + createHash('sha256').update(s).digest('hex');
}

/** The stage's result as others see it: its last key and the layers it ended with (so a stage forced to
 * rebuild by --no-cache-filter that produced different files invalidates what copies from it). */
export function stageResultKey(lastKey: string, state: StageState): string {
  return digestOf(lastKey, { layers: state.layers.map((l) => l.diffID).join(','), config: JSON.stringify(state.image.config) });
}

export function rootInputs(base: string, opts: { platform: string; format: string; timestamp?: number; sourceDateEpoch?: number }): StepInputs {
  const inputs: StepInputs = { base, platform: opts.platform, format: opts.format };
  if (opts.timestamp !== undefined) inputs['timestamp'] = String(opts.timestamp);
  if (opts.sourceDateEpoch !== undefined) inputs['source-date-epoch'] = String(opts.sourceDateEpoch);
  return inputs;
}

function addFiles(files: FileDigests, sel: SelectionDigest, prefix = ''): void {
  for (const [p, d] of sel.files) files.set(`file:${prefix}${p}`, d);
}

/** `--from=` / `from=`: an earlier stage's result key or an image's digest. */
async function fromInput(from: string, flag: string, location: SourceLocation, kc: KeyContext): Promise<string> {
  const ref = await resolveFromRef(from, flag, kc.step, location);
  return ref.kind === 'stage' ? 'stage:' + (await kc.stageKey(ref.index)) : 'image:' + ref.image.record.manifestDigest;
}

/** Inputs of one step; metadata instructions must already be applied to `state`. */
export async function stepKey(ins: Instruction, state: StageState, parent: string, kc: KeyContext): Promise<StepKey> {
  const inputs: StepInputs = { instruction: ins.original };
  const files: FileDigests = new Map();
  let uncacheable: string | undefined;
  if (ins.kind === 'ARG') {
    // Nothing else: the value reaches the key of every step that uses it.
  } else if (isMetadataInstruction(ins)) {
    for (const [k, v] of Object.entries(state.image.config)) if (v !== undefined && v !== null) inputs[`config:${k}`] = JSON.stringify(v);
  } else if (ins.kind === 'COPY' || ins.kind === 'ADD') {
    const { req, from, checksum, keepGitDir } = copyRequest(ins, state);
    const { location: _location, ...rest } = req;
    inputs['request'] = JSON.stringify({ ...rest, checksum, keepGitDir });
    if (from !== undefined) {
      inputs['from'] = await fromInput(from, `${ins.kind} --from`, ins.pos, kc);
    } else {
      const local = req.sources.filter((s) => !isUrl(s));
      if (ins.kind === 'ADD' && local.length !== req.sources.length && checksum === undefined) uncacheable = 'ADD of a URL without --checksum always runs';
      if (local.length > 0) {
        // The build's shared view of the context: the COPY itself then stats nothing again.
        const sel = await kc.hasher.hashSources(local, { verb: ins.kind, location: ins.pos, exclude: req.exclude, source: buildContextSource(kc.step.solve) });
        inputs['selection'] = sel.digest;
        addFiles(files, sel);
      }
    }
  } else if (ins.kind === 'RUN') {
    const run = kc.step.solve.run ?? defaultRunOptions();
    const flags = parseRunFlags(ins, state);
    const cmd = runCommand(ins, state);
    const env = envMap(state.image.config);
    inputs['command'] = JSON.stringify({ args: cmd.execArgs, files: cmd.files, shell: currentShell(state), user: state.image.config.User ?? '', workdir: currentWorkdir(state), network: flags.network ?? run.network });
    for (const [k, v] of state.args.entries()) if (!env.has(k)) inputs[`arg:${k}`] = v;
    for (const [k, v] of env) inputs[`env:${k}`] = v;
    for (const m of flags.mounts) {
      const id = `mount:${m.target || (m.type === 'secret' ? 'env:' + m.id : '')}`;
      if (m.type === 'secret') {
        inputs[id] = JSON.stringify({ ...m, present: run.secrets.has(m.id) });
      } else if (m.type === 'bind' || m.type === 'cache') {
        let source = '';
        if (m.from !== undefined) source = await fromInput(m.from, 'RUN --mount from', ins.pos, kc);
        else if (m.type === 'bind' || m.source !== undefined) {
          // A bind of the context (or a cache seeded from it): the bound files' content is an input.
          const sel = await kc.hasher.hashSources([m.source ?? '/'], { verb: 'RUN --mount', location: ins.pos });
          source = sel.digest;
          addFiles(files, sel, m.type === 'bind' ? '' : `${m.target} seed:`);
        }
        inputs[id] = JSON.stringify({ ...m, source: m.source, content: source });
      } else {
        inputs[id] = JSON.stringify(m);
      }
    }
  } else {
    inputs['kind'] = (ins as Instruction).kind;
  }
  return { key: digestOf(parent, inputs), inputs, ...(files.size > 0 ? { files } : {}), ...(uncacheable ? { uncacheable } : {}) };
}

const NO_FILES: FileDigests = new Map();

/** The file digests of a step: `files`, plus any `file:` entries in `inputs` (records written before they were kept apart). */
function fileDigests(inputs: StepInputs, files: FileDigests | undefined): FileDigests {
  const inline = Object.keys(inputs).filter((k) => k.startsWith('file:'));
  if (inline.length === 0) return files ?? NO_FILES;
  const all = new Map(files);
  for (const k of inline) all.set(k, inputs[k]!);
  return all;
}

/** One short clause saying what differs between the inputs of the last build on this parent and now. */
export function explainMiss(prev: StepInputs | undefined, cur: StepInputs, prevFiles?: FileDigests, curFiles?: FileDigests): string | undefined {
  if (!prev) return undefined;
  if (prev['instruction'] !== cur['instruction']) return 'instruction changed';
  if (prev['base'] !== cur['base'] && 'base' in cur) return cur['base']?.startsWith('stage:') ? 'base stage changed' : 'base image changed';
  const files = { changed: [] as string[], added: [] as string[], removed: [] as string[] };
  const before = fileDigests(prev, prevFiles);
  const now = fileDigests(cur, curFiles);
  for (const [k, d] of now) {
    const was = before.get(k);
    if (was === undefined) files.added.push(k.slice(5));
    else if (was !== d) files.changed.push(k.slice(5));
  }
  for (const k of before.keys()) if (!now.has(k)) files.removed.push(k.slice(5));
  for (const list of [files.changed, files.added, files.removed]) list.sort();
  const other: string[] = [];
  const keys = new Set([...Object.keys(prev), ...Object.keys(cur)]);
  for (const k of [...keys].sort()) {
    if (prev[k] === cur[k] || k.startsWith('file:')) continue;
    if (k === 'selection') {
      continue; // explained by the file: entries (or by nothing visible: a rename of a source)
    } else if (k.startsWith('arg:')) other.push(`build arg ${k.slice(4)} changed`);
    else if (k.startsWith('env:')) other.push(`env ${k.slice(4)} changed`);
    else if (k.startsWith('config:')) other.push(`${k.slice(7)} changed`);
    else if (k === 'from') other.push(`${(cur[k] ?? prev[k] ?? '').startsWith('stage:') ? 'source stage' : 'source image'} changed`);
    else if (k.startsWith('mount:')) other.push(`mount ${k.slice(6)} changed`);
    else other.push(`${k} changed`);
  }
  const parts: string[] = [];
  const list = (names: string[], verb: string) => {
    if (names.length === 0) return;
    const shown = names.slice(0, 3).join(', ');
    parts.push(`${shown}${names.length > 3 ? ` and ${names.length - 3} more` : ''} ${verb}`);
  };
  list(files.changed, 'changed');
  list(files.added, 'added');
  list(files.removed, 'removed');
  parts.push(...other.slice(0, 3));
  if (other.length > 3) parts.push(`${other.length - 3} more inputs changed`);
  return parts.length > 0 ? parts.join('; ') : 'selected files changed';
}

export { sha as sha256Text };
