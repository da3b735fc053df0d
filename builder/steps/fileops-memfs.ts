// An in-memory RootfsTreeReader: a rootfs view built from a list of entries. Used to plan against
// an empty/scratch base, and as the fake destination in unit tests.

import { resolveScoped } from '../context/scoped.js';
import { dirnameRel, toRootRel } from '../context/paths.js';
import type { LayerEntry, RootfsStat, RootfsTreeReader } from './layer-entry.js';

export class MemRootfs implements RootfsTreeReader {
  private readonly nodes = new Map<string, LayerEntry>();

  constructor(entries: LayerEntry[] = []) {
    for (const e of entries) this.add(e);
  }

  /** Add an entry; missing parents become root-owned 0755 directories. */
  add(e: LayerEntry): this {
    const rel = toRootRel(e.path);
    for (let d = dirnameRel(rel); d !== '' && !this.nodes.has(d); d = dirnameRel(d)) {
      this.nodes.set(d, { path: d, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 });
    }
    this.nodes.set(rel, { ...e, path: rel });
    return this;
  }

  async resolve(path: string, followLast = true): Promise<string> {
    const r = await resolveScoped(toRootRel(path), async (rel) => {
      const n = this.nodes.get(rel);
      return n?.type === 'symlink' ? n.linkname : undefined;
    }, followLast);
    return '/' + r.path;
  }

  async lstat(path: string): Promise<RootfsStat | undefined> {
    const rel = toRootRel(path);
    if (rel === '') return { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 };
    const n = this.nodes.get(rel);
    if (!n) return undefined;
    return { type: n.type, mode: n.mode, uid: n.uid, gid: n.gid, size: this.data(n)?.length ?? n.size ?? 0, mtime: n.mtime, linkname: n.linkname };
  }

  async readFile(path: string): Promise<Buffer | undefined> {
    const rel = toRootRel(await this.resolve(path, true));
    const n = this.nodes.get(rel);
    return n?.type === 'file' ? this.data(n) ?? Buffer.alloc(0) : undefined;
  }

  async readdir(path: string): Promise<string[]> {
    const rel = toRootRel(path);
    const out: string[] = [];
    for (const k of this.nodes.keys()) if (k !== rel && dirnameRel(k) === rel) out.push(k.slice(rel === '' ? 0 : rel.length + 1));
    return out.sort();
  }

  private data(n: LayerEntry): Buffer | undefined {
    return n.content && 'data' in n.content ? n.content.data : undefined;
  }
}
