// ADD → the entries of its layer: COPY plus local tar archives extracted into the destination and
// http(s) URLs downloaded (never extracted). Git sources are not supported yet.

import { joinRel } from '../context/paths.js';
import { extractTar, openTar } from './add-archive.js';
import { Spool } from './add-spool.js';
import { download, isGitUrl, isUrl } from './add-url.js';
import { addHeredocs, beginCopy, type CopyRequest, type PlanOptions } from './copy.js';
import type { CopySource } from './copy-source.js';
import { copyResolved, expandSource, fail } from './fileops-copy.js';
import type { LayerEntry, RootfsReader } from './layer-entry.js';

export interface AddRequest extends CopyRequest {
  /** --checksum=sha256:<hex>, only for URL sources. */
  checksum?: string;
  /** --keep-git-dir: accepted for git sources, which are not supported yet. */
  keepGitDir?: boolean;
}

export interface AddOptions extends PlanOptions {
  /**
   * A private scratch directory for downloads and unpacked archive members. The entries returned
   * may point into it: the caller removes it once their layer is written.
   */
  scratchDir: string;
  signal?: AbortSignal;
}

export async function planAdd(req: AddRequest, src: CopySource, dest: RootfsReader, popts: AddOptions): Promise<LayerEntry[]> {
  for (const s of req.sources) {
    if (isGitUrl(s)) fail(req, 'ADD of a git repository is not supported yet');
  }
  if (req.checksum !== undefined && req.sources.some((s) => !isUrl(s))) {
    fail(req, 'ADD --checksum can only be used with HTTP(S) sources');
  }
  const ctx = await beginCopy(req, 'ADD', dest, popts);
  const { opts, plan, destination } = ctx;
  const spool = new Spool(popts.scratchDir, { signal: popts.signal });
  for (const s of req.sources) {
    if (isUrl(s)) {
      const d = await download(s, { checksum: req.checksum, location: req.location, spool, signal: popts.signal });
      const existing = await plan.stat(destination.rel);
      const target = existing?.type === 'dir' ? joinRel(destination.rel, d.name) : destination.rel;
      await plan.ensureParents(target);
      if ((await plan.stat(target))?.type === 'dir') plan.fail(`cannot replace to directory /${target} with file`);
      plan.put({
        path: target,
        type: 'file',
        mode: opts.mode ?? 0o600,
        uid: opts.owner?.uid ?? 0,
        gid: opts.owner?.gid ?? 0,
        // No Last-Modified: the epoch, as BuildKit (a download of the same bytes is the same layer).
        mtime: d.mtime ?? 0,
        size: d.size,
        content: { path: d.path },
      });
      continue;
    }
    for (const item of await expandSource(src, s, opts)) {
      const st = await src.lstat(item.path);
      if (st?.type === 'file') {
        const tarStream = await openTar(await src.content(item.path)).catch((e: Error) => fail(opts, e.message));
        if (tarStream) {
          // Archives unpack into the destination directory (created if missing).
          await extractTar(plan, tarStream, destination.rel, { owner: opts.owner, spool, name: item.path, fail: (m) => plan.fail(m) });
          continue;
        }
      }
      await copyResolved(plan, src, item, destination, opts);
    }
  }
  await addHeredocs(req, ctx);
  return plan.finish();
}
