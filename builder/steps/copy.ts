// COPY → the entries of its layer. Semantics follow BuildKit's Dockerfile frontend (fsutil copy
// with FollowSymlinks, CopyDirContentsOnly, AllowWildcard, CreateDestPath).

import type { SourceLocation } from '../../oci/errors.js';
import { basenameRel, joinRel } from '../context/paths.js';
import type { CopySource } from './copy-source.js';
import { parseChmod, resolveOwner } from './copy-owner.js';
import { copyResolved, excludeMatcher, expandSource, fail, prepareDestination, type CopyOptions } from './fileops-copy.js';
import { LayerPlan } from './fileops-plan.js';
import type { LayerEntry, RootfsReader } from './layer-entry.js';

export type { CopySource } from './copy-source.js';
export { ContextSource, RootfsSource } from './copy-source.js';
export type { LayerEntry, LayerEntryType, RootfsReader, RootfsTreeReader, RootfsStat } from './layer-entry.js';

export interface CopyRequest {
  /** Already variable-expanded; may contain wildcards. */
  sources: string[];
  /** Already expanded; relative destinations are relative to workdir. */
  dest: string;
  /** Stage WORKDIR (default '/'). */
  workdir: string;
  /** 'user', 'user:group', 'uid:gid'; names resolved in the destination's /etc/passwd, /etc/group. */
  chown?: string;
  /** Octal only. */
  chmod?: string;
  /** --link: accepted; our layers never depend on the base anyway. */
  link?: boolean;
  /** --exclude patterns (Docker ignore-file syntax), relative to each source. */
  exclude?: string[];
  /** --parents: not supported (UserError). */
  parents?: boolean;
  /** COPY <<EOF /dest: content already expanded by the caller. */
  heredocs?: { name: string; content: string }[];
  location: SourceLocation;
}

export interface PlanOptions {
  /** Timestamp (seconds) for directories and heredoc files the step creates; default now. */
  now?: number;
}

/** Shared preamble of COPY and ADD: flags → options, plan, destination. */
export async function beginCopy(req: CopyRequest, verb: 'COPY' | 'ADD', dest: RootfsReader, popts: PlanOptions = {}) {
  const location = req.location;
  if (req.parents) fail({ location }, `${verb} --parents is not supported`);
  // A NUL cannot be in a path: without this check Node's fs throws a TypeError (found by fuzzing).
  for (const p of [...req.sources, req.dest, ...(req.heredocs ?? []).map((h) => h.name)]) {
    if (p.includes('\0')) fail({ location }, `${verb} failed: path ${JSON.stringify(p)} contains a NUL character`);
  }
  const mode = parseChmod(req.chmod, location);
  const owner = req.chown !== undefined ? await resolveOwner(req.chown, dest, location) : undefined;
  const opts: CopyOptions = { verb, location, owner, mode, exclude: excludeMatcher(req.exclude, { verb, location }) };
  const now = popts.now ?? Math.floor(Date.now() / 1000);
  const plan = new LayerPlan(dest, owner ?? { uid: 0, gid: 0 }, now, location);
  const count = req.sources.length + (req.heredocs?.length ?? 0);
  if (count === 0) fail(opts, `${verb} requires at least one source`);
  const destination = await prepareDestination(plan, req.dest, req.workdir);
  if (count > 1 && !destination.dirLike) {
    fail(opts, `When using ${verb} with more than one source file, the destination must be a directory and end with a /`);
  }
  return { opts, plan, destination, now };
}

/** Heredoc sources become files named after the heredoc (0644 unless --chmod). */
export async function addHeredocs(req: CopyRequest, ctx: Awaited<ReturnType<typeof beginCopy>>): Promise<void> {
  const { plan, destination, opts, now } = ctx;
  for (const h of req.heredocs ?? []) {
    const existing = await plan.stat(destination.rel);
    const target = existing?.type === 'dir' ? joinRel(destination.rel, basenameRel(h.name)) : destination.rel;
    await plan.ensureParents(target);
    if ((await plan.stat(target))?.type === 'dir') plan.fail(`cannot replace to directory /${target} with file`);
    const data = Buffer.from(h.content, 'utf8');
    plan.put({
      path: target,
      type: 'file',
      mode: opts.mode ?? 0o644,
      uid: opts.owner?.uid ?? 0,
      gid: opts.owner?.gid ?? 0,
      mtime: now,
      size: data.length,
      content: { data },
    });
  }
}

/**
 * Compute the layer entries of one COPY from a context directory or another rootfs: sorted by path,
 * with the parent directories (existing ones with their current metadata, missing ones created).
 */
export async function planCopy(req: CopyRequest, src: CopySource, dest: RootfsReader, popts: PlanOptions = {}): Promise<LayerEntry[]> {
  const ctx = await beginCopy(req, 'COPY', dest, popts);
  const { opts, plan, destination } = ctx;
  const items = [];
  for (const s of req.sources) {
    const expanded = await expandSource(src, s, opts);
    items.push(...expanded);
  }
  if (items.length > 1 && !destination.dirLike && (await plan.stat(destination.rel))?.type !== 'dir') {
    fail(opts, `When using COPY with more than one source file, the destination must be a directory and end with a /`);
  }
  for (const item of items) await copyResolved(plan, src, item, destination, opts);
  await addHeredocs(req, ctx);
  return plan.finish();
}
