// Content+metadata digest of exactly the context files a COPY/ADD (or a RUN bind mount) selects:
// the same source expansion as the copy itself (wildcards, symlink rules, the ignore file, --exclude),
// then every selected node's path, type, mode, size, link target and content digest. Mtimes and
// owners are left out (the context's owners are reset to 0:0 anyway; BuildKit ignores mtimes too),
// so touching a file without changing it keeps the cache. Ignored files are never read or stat'ed
// beyond the directory walk; file contents come from the persistent stat cache when unchanged.
import { createHash } from 'node:crypto';
import { promises as fsp, type BigIntStats } from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import type { SourceLocation } from '../../oci/errors.js';
import type { StatCache } from '../../cache/stat-cache.js';
import { ContextSource } from '../steps/copy-source.js';
import { excludeMatcher, expandSource } from '../steps/fileops-copy.js';
import { IgnoreMatcher } from './ignore.js';
import { compareBytes, joinRel } from './paths.js';

export interface SelectionDigest {
  digest: string;
  /** Context-relative path → short digest of that node, to say which file changed on a miss. */
  files: Map<string, string>;
}

interface Node {
  rel: string;
  st: BigIntStats;
  linkname?: string;
  digest?: string;
}

export class ContextHasher {
  private readonly matcher: IgnoreMatcher;
  private readonly source: ContextSource;
  private readonly limit = pLimit(32);

  constructor(
    readonly contextDir: string,
    ignorePatterns: string[],
    private readonly stats: StatCache,
  ) {
    this.matcher = new IgnoreMatcher(ignorePatterns);
    this.source = new ContextSource(contextDir, this.matcher);
  }

  /** Digest of what `sources` (as written after expansion) select. Errors are the copy's own. */
  async hashSources(sources: string[], opts: { verb: 'COPY' | 'ADD'; location: SourceLocation; exclude?: string[] }): Promise<SelectionDigest> {
    const exclude = excludeMatcher(opts.exclude, opts);
    const h = createHash('sha256');
    const files = new Map<string, string>();
    for (const raw of sources) {
      const items = await expandSource(this.source, raw, { verb: opts.verb, location: opts.location, exclude });
      for (const item of items) {
        h.update(`S\0${item.named}\0${item.path}\0${item.keepSymlink ? 1 : 0}\0`);
        const nodes: Node[] = [];
        const st = await this.lstat(item.path);
        if (!st) continue;
        nodes.push(await this.node(item.path, st));
        if (st.isDirectory() && !item.keepSymlink) await this.walk(item.path, '', exclude, nodes);
        await Promise.all(nodes.map((n) => (n.st.isFile() ? this.limit(async () => void (n.digest = await this.stats.digest(n.rel, n.st))) : undefined)));
        for (const n of nodes) {
          const line = describe(n);
          h.update(line);
          files.set(n.rel || '.', createHash('sha256').update(line).digest('hex').slice(0, 16));
        }
      }
    }
    return { digest: 'sha256:' + h.digest('hex'), files };
  }

  /** The children of a selected directory, with the ignore file's and --exclude's rules (as ContextSource and copyChildren apply them). */
  private async walk(rel: string, comp: string, exclude: IgnoreMatcher | undefined, out: Node[]): Promise<void> {
    const names = (await fsp.readdir(this.abs(rel))).sort(compareBytes);
    const stats = await Promise.all(names.map((n) => this.lstat(joinRel(rel, n))));
    for (let i = 0; i < names.length; i++) {
      const st = stats[i];
      if (!st || st.isSocket()) continue;
      const childRel = joinRel(rel, names[i]!);
      const childComp = joinRel(comp, names[i]!);
      const isDir = st.isDirectory();
      if (this.matcher.ignores(childRel, isDir)) {
        // An ignored directory is only there when something below it is re-included ('!').
        if (!isDir || !this.matcher.mayReinclude(childRel)) continue;
        const below: Node[] = [];
        await this.walk(childRel, childComp, exclude, below);
        if (below.length > 0) out.push(await this.node(childRel, st), ...below);
        continue;
      }
      if (exclude?.ignores(childComp, isDir) && !(isDir && exclude.mayReinclude(childComp))) continue;
      out.push(await this.node(childRel, st));
      if (isDir) await this.walk(childRel, childComp, exclude, out);
    }
  }

  private async node(rel: string, st: BigIntStats): Promise<Node> {
    return st.isSymbolicLink() ? { rel, st, linkname: await fsp.readlink(this.abs(rel)) } : { rel, st };
  }

  private async lstat(rel: string): Promise<BigIntStats | undefined> {
    try {
      return await fsp.lstat(this.abs(rel), { bigint: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw e;
    }
  }

  private abs(rel: string): string {
    return path.join(this.contextDir, rel);
  }

  get counters(): { reads: number; hits: number } {
    return this.stats.counters;
  }

  save(): Promise<void> {
    return this.stats.save();
  }
}

function describe(n: Node): string {
  const st = n.st;
  const mode = Number(st.mode & 0o7777n).toString(8);
  if (st.isFile()) return `F\0${n.rel}\0${mode}\0${st.size}\0${n.digest}\n`;
  if (st.isDirectory()) return `D\0${n.rel}\0${mode}\n`;
  if (st.isSymbolicLink()) return `L\0${n.rel}\0${n.linkname}\n`;
  if (st.isCharacterDevice() || st.isBlockDevice()) return `${st.isCharacterDevice() ? 'C' : 'B'}\0${n.rel}\0${mode}\0${st.rdev}\n`;
  return `P\0${n.rel}\0${mode}\n`;
}
