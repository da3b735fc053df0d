// A read-only merged view over overlay-format snapshot dirs (lowest first), computed the way overlayfs
// would merge them: char 0/0 devices hide lower entries, opaque dirs hide everything below them, and a
// non-directory in an upper layer hides a lower directory of the same name.
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../oci/errors.js';
import type { LayerEntryType } from './layer-entry.js';
import { defaultHostFs, type HostFs } from './rootfs-host-fs.js';
import { usernsRanges } from './userns.js';
import { fileTypeOf, isWhiteoutDevice } from './fsutil.js';

export interface ViewStat {
  type: LayerEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname?: string;
}

const MAX_SYMLINKS = 40; // as Linux' MAXSYMLINKS

const isWhiteout = isWhiteoutDevice;

/**
 * Rootless with subordinate ids, snapshots are unpacked in a user namespace (cache/userns.ts), so
 * their host owners are shifted: container 0 = this user, 1.. = the range. Steps reading owners
 * from the view (COPY's existing parent directories, COPY --from) need the container ids back, or
 * they write host ids into the next layer (which then cannot even be unpacked).
 */
function containerIds(uid: number, gid: number): { uid: number; gid: number } {
  const r = usernsRanges();
  if (!r) return { uid, gid };
  const back = (id: number, own: number, range: { start: number; count: number }) =>
    id === own ? 0 : id >= range.start && id < range.start + range.count ? id - range.start + 1 : 65534;
  return { uid: back(uid, process.getuid!(), r.uid), gid: back(gid, process.getgid!(), r.gid) };
}


function split(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

export class RootfsView {
  private readonly top: string[];
  // Snapshots are read-only once committed, so what a view has looked up stays true for its life.
  // COPY of a tree asks about every ancestor of every path, in every layer: without these memos a
  // 20,000-file COPY made ~7 lstat calls per file, nearly all for the same few directories.
  private readonly lstats = new Map<string, Promise<Stats | undefined>>();
  private readonly opaque = new Map<string, Promise<boolean>>();
  private readonly found = new Map<string, Promise<{ host: string; st: Stats } | undefined>>();

  /** `host`: how the snapshot dirs are read (default: directly, rootless falling back to the user namespace). */
  constructor(layers: string[], private readonly host: HostFs = defaultHostFs()) {
    this.top = [...layers].reverse();
  }

  /** Resolve inside the rootfs like securejoin: '..' stops at '/', absolute symlinks restart at the rootfs root. */
  async resolve(path: string, followLast = true): Promise<string> {
    const done: string[] = [];
    let todo = split(path);
    let links = 0;
    while (todo.length > 0) {
      const c = todo.shift()!;
      if (c === '..') {
        done.pop();
        continue;
      }
      const candidate = [...done, c];
      const isLast = todo.length === 0;
      const hit = await this.find(candidate);
      if (hit?.st.isSymbolicLink() && (!isLast || followLast)) {
        if (++links > MAX_SYMLINKS) throw new UserError(`too many levels of symbolic links resolving ${path}`);
        const target = await this.host.readlink(hit.host);
        if (target.startsWith('/')) done.length = 0;
        todo = [...split(target), ...todo];
        continue;
      }
      done.push(c);
    }
    return '/' + done.join('/');
  }

  async lstat(path: string): Promise<ViewStat | undefined> {
    const hit = await this.find(split(await this.resolve(path, false)));
    if (!hit) return undefined;
    const st = hit.st;
    const found = fileTypeOf(st);
    const type: LayerEntryType = found === 'socket' ? 'fifo' : found;
    const out: ViewStat = { type, mode: st.mode & 0o7777, ...containerIds(st.uid, st.gid), size: type === 'file' ? st.size : 0, mtime: st.mtimeMs / 1000 };
    if (type === 'symlink') out.linkname = await this.host.readlink(hit.host);
    return out;
  }

  async readFile(path: string): Promise<Buffer | undefined> {
    const hit = await this.find(split(await this.resolve(path, true)));
    if (!hit || !hit.st.isFile()) return undefined;
    return this.host.readFile(hit.host);
  }

  /** The host path of a regular file when this process can read it there (content can then be streamed). */
  async readablePath(path: string): Promise<string | undefined> {
    const hit = await this.find(split(await this.resolve(path, true)));
    if (!hit || !hit.st.isFile()) return undefined;
    return (await this.host.canRead(hit.host)) ? hit.host : undefined;
  }

  async readdir(path: string): Promise<string[] | undefined> {
    const comps = split(await this.resolve(path, true));
    const names = new Set<string>();
    const hidden = new Set<string>();
    let found = false;
    for (const layer of await this.contributors(comps)) {
      const host = join(layer, ...comps);
      const st = await this.lstatHost(host);
      if (!st) continue;
      if (!st.isDirectory()) break; // a non-directory here hides lower dirs of the same name
      found = true;
      for (const n of await this.host.readdir(host)) {
        if (names.has(n) || hidden.has(n)) continue;
        const cst = await this.lstatHost(join(host, n));
        if (cst && isWhiteout(cst)) hidden.add(n);
        else names.add(n);
      }
      if (await this.isOpaque(host)) break;
    }
    return found ? [...names].sort() : undefined;
  }

  /** Synchronous underneath: snapshot lookups are local-disk metadata reads, each far cheaper than
   * a thread-pool round trip (a COPY into an existing directory asks once per file). */
  private lstatHost(host: string): Promise<Stats | undefined> {
    let p = this.lstats.get(host);
    if (!p) {
      try {
        p = Promise.resolve(this.host.lstat(host));
      } catch (e) {
        p = Promise.reject(e);
      }
      this.lstats.set(host, p);
    }
    return p;
  }

  /** The topmost non-whiteout entry for a path (no symlink resolution), with its host path. */
  private find(comps: string[]): Promise<{ host: string; st: Stats } | undefined> {
    const key = comps.join('/');
    let p = this.found.get(key);
    if (!p) {
      p = this.findUncached(comps);
      this.found.set(key, p);
    }
    return p;
  }

  private async findUncached(comps: string[]): Promise<{ host: string; st: Stats } | undefined> {
    if (comps.length === 0) {
      if (this.top.length === 0) return undefined;
      const st = await this.lstatHost(this.top[0]!);
      return st ? { host: this.top[0]!, st } : undefined;
    }
    // Nothing can be below a parent the merged view does not have as a directory (missing, whited
    // out, or shadowed by a non-directory): the same answer contributors() would reach layer by layer.
    if (comps.length > 1) {
      const parent = await this.find(comps.slice(0, -1));
      if (!parent || !parent.st.isDirectory()) return undefined;
    }
    for (const layer of await this.contributors(comps)) {
      const host = join(layer, ...comps);
      const st = await this.lstatHost(host);
      if (!st) continue;
      return isWhiteout(st) ? undefined : { host, st };
    }
    return undefined;
  }

  /**
   * Layers (top first) that may hold `comps`: walking down, a layer where some ancestor is whited out
   * or not a directory ends the list; an opaque ancestor ends it after that layer.
   */
  private async contributors(comps: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const layer of this.top) {
      let stopAfter = false;
      let blocked = false;
      for (let i = 1; i < comps.length; i++) {
        const st = await this.lstatHost(join(layer, ...comps.slice(0, i)));
        if (!st) break; // this layer says nothing about the ancestor: lower layers decide
        if (!st.isDirectory()) {
          blocked = true; // whiteout or file/symlink shadowing the ancestor
          break;
        }
        if (await this.isOpaque(join(layer, ...comps.slice(0, i)))) stopAfter = true;
      }
      if (blocked) break;
      out.push(layer);
      if (stopAfter) break;
    }
    return out;
  }

  private isOpaque(hostDir: string): Promise<boolean> {
    let p = this.opaque.get(hostDir);
    if (!p) {
      p = this.isOpaqueUncached(hostDir);
      this.opaque.set(hostDir, p);
    }
    return p;
  }

  private isOpaqueUncached(hostDir: string): Promise<boolean> {
    return this.host.opaque(hostDir);
  }
}
