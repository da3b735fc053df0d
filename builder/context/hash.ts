// Content+metadata digest of exactly the context files a COPY/ADD (or a RUN bind mount) selects:
// the same source expansion as the copy itself (wildcards, symlink rules, the ignore file, --exclude),
// then every selected node's path, type, mode, size, link target and content digest, and which files
// are hard links of one another. Mtimes and owners are left out (the context's owners are reset to
// 0:0 anyway; BuildKit ignores mtimes too), so touching a file without changing it keeps the cache.
// Ignored files are never read or stat'ed beyond the directory walk; file contents come from the
// persistent stat cache when unchanged.
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import type { SourceLocation } from '../../oci/errors.js';
import type { StatCache } from '../../cache/stat-cache.js';
import { ContextSource, refuseUndecodable, type ContextStat } from '../steps/copy-source.js';
import { excludeMatcher, expandSource, type CopyOptions } from '../steps/fileops-copy.js';
import { IgnoreMatcher } from './ignore.js';
import { compareBytes, joinRel } from './paths.js';

export interface SelectionDigest {
  digest: string;
  /** Context-relative path → short digest of that node, to say which file changed on a miss. */
  files: Map<string, string>;
}

interface Node {
  rel: string;
  st: ContextStat;
  digest?: string;
}

export class ContextHasher {
  private readonly own: ContextSource;

  constructor(
    readonly contextDir: string,
    ignorePatterns: string[],
    private readonly stats: StatCache,
  ) {
    this.own = new ContextSource(contextDir, new IgnoreMatcher(ignorePatterns));
  }

  /**
   * Digest of what `sources` (as written after expansion) select. Errors are the copy's own.
   * `source`: the build's shared view of the context (buildContextSource), so the COPY that follows
   * reuses every lstat made here; by default the hasher's own view.
   */
  async hashSources(sources: string[], opts: { verb: CopyOptions['verb']; location: SourceLocation; exclude?: string[]; source?: ContextSource }): Promise<SelectionDigest> {
    const source = opts.source ?? this.own;
    const exclude = excludeMatcher(opts.exclude, opts);
    const h = createHash('sha256');
    const files = new Map<string, string>();
    // Hard links are copied as links (the layer holds one file and links to it): which selected files
    // share an inode is part of what the step produces. First path of each inode in selection order.
    const linkGroups = new Map<string, string>();
    for (const raw of sources) {
      const items = await expandSource(source, raw, { verb: opts.verb, location: opts.location, exclude });
      for (const item of items) {
        // The trailing 0 once flagged a source link copied as a link (never done now): kept so the
        // keys of existing cache entries stay valid. `path` is where a followed link led.
        h.update(`S\0${item.named}\0${item.path}\0` + '0\0');
        const st = source.rawStat(item.path);
        if (!st) continue;
        const nodes: Node[] = [{ rel: item.path, st }];
        if (st.type === 'dir') walk(source, item.path, '', exclude, nodes);
        await this.digestFiles(nodes);
        let batch = '';
        for (const n of nodes) {
          let line = describe(n);
          if (n.st.inode !== undefined) {
            const first = linkGroups.get(n.st.inode);
            if (first === undefined) linkGroups.set(n.st.inode, n.rel);
            else line += `H\0${n.rel}\0${first}\n`;
          }
          // One update per ~64 KiB of lines rather than per line: the hash is the same.
          batch += line;
          if (batch.length >= 65536) {
            h.update(batch);
            batch = '';
          }
          files.set(n.rel || '.', shortDigest(line));
        }
        h.update(batch);
      }
    }
    return { digest: 'sha256:' + h.digest('hex'), files };
  }

  /** Contents digests: from the stat cache when unchanged, else read (all at once: StatCache.digestMany). */
  private async digestFiles(nodes: Node[]): Promise<void> {
    await this.stats.ready();
    const todo: Node[] = [];
    for (const n of nodes) {
      if (n.st.type !== 'file') continue;
      n.digest = this.stats.cached(n.rel, n.st);
      if (n.digest === undefined) todo.push(n);
    }
    const digests = await this.stats.digestMany(todo);
    todo.forEach((n, i) => (n.digest = digests[i]));
  }

  get counters(): { reads: number; hits: number } {
    return this.stats.counters;
  }

  save(): Promise<void> {
    return this.stats.save();
  }
}

/**
 * The children of a selected directory, with the ignore file's and --exclude's rules (as
 * ContextSource and copyChildren apply them), in byte order. An ignored directory is listed by the
 * source only when something below it is re-included ('!'); it is kept when that survives --exclude.
 */
function walk(src: ContextSource, rel: string, comp: string, exclude: IgnoreMatcher | undefined, out: Node[]): void {
  const kids = src.children(rel);
  refuseUndecodable(src, rel, (b) => !exclude?.ignores(comp === rel ? b.rel : joinRel(comp, b.name), false));
  for (const { name, rel: childRel, st } of isByteOrdered(kids) ? kids : [...kids].sort((a, b) => compareBytes(a.name, b.name))) {
    if (st.type === 'socket') continue;
    // Below the context root itself both paths are the same string: not made a second time.
    const childComp = comp === rel ? childRel : joinRel(comp, name);
    const isDir = st.type === 'dir';
    if (isDir && src.matcher.ignores(childRel, true)) {
      const below: Node[] = [];
      walk(src, childRel, childComp, exclude, below);
      if (below.length > 0) out.push({ rel: childRel, st }, ...below);
      continue;
    }
    if (exclude?.ignores(childComp, isDir) && !(isDir && exclude.mayReinclude(childComp))) continue;
    out.push({ rel: childRel, st });
    if (isDir) walk(src, childRel, childComp, exclude, out);
  }
}

/** readdir order (UTF-16) is byte order unless names hold characters from U+D800 up. */
function isByteOrdered(kids: { name: string }[]): boolean {
  for (let i = 1; i < kids.length; i++) if (compareBytes(kids[i - 1]!.name, kids[i]!.name) > 0) return false;
  return true;
}

const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'hex') => string }).hash;

/** First 16 hex digits of the line's sha256 (crypto.hash where Node has it: no Hash object per file). */
function shortDigest(line: string): string {
  return (oneShot ? oneShot('sha256', line, 'hex') : createHash('sha256').update(line).digest('hex')).slice(0, 16);
}

function describe(n: Node): string {
  const st = n.st;
  const mode = st.mode.toString(8);
  switch (st.type) {
    case 'file':
      return `F\0${n.rel}\0${mode}\0${st.size}\0${n.digest}\n`;
    case 'dir':
      return `D\0${n.rel}\0${mode}\n`;
    case 'symlink':
      return `L\0${n.rel}\0${st.linkname}\n`;
    case 'char':
    case 'block':
      return `${st.type === 'char' ? 'C' : 'B'}\0${n.rel}\0${mode}\0${st.rdev}\n`;
    default:
      return `P\0${n.rel}\0${mode}\n`;
  }
}
