// RUN --mount=type=cache contents through the registry cache (`--cache-to` / `--cache-from`).
//
// Export: after a successful build, each cache mount the build used is packed into one deterministic
// layer (the layer codec, sorted entries, file times kept: compilers' caches key on them) and listed
// in the cache image's config as id → layer, next to the step entries (see build-cache-remote.ts).
// Mounts the build imported but never ran a step with (every RUN using them was a cache hit) are
// carried forward from the imported cache image, so a fully cached CI run does not drop them.
//
// Import: before the first RUN of a build that uses cache id X, if the local mount X is empty, the
// exported layer is fetched and unpacked into a staging dir beside it (applyLayer: nothing escapes the
// target), cleaned (no device nodes, no setuid/setgid bits: the mount is bind-mounted into RUN
// containers without nodev/nosuid), then moved in. Local content always wins over the imported one.
//
// Ownership: as root, owners are recorded and restored as they are. Rootless, files are recorded with
// the ids the container saw (the user → 0, the subordinate range → 1..), files the user cannot read
// (private modes under a subordinate id) are left out with a warning, and imported files belong to the
// user, i.e. the container's root: the owners recorded in the layer are not restored.
import { constants as C, promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { UserError } from '../oci/errors.js';
import type { CacheLayer } from './build-cache.js';
import type { RemoteCache } from './build-cache-remote.js';
import { parseSize } from './gc.js';
import { applyLayer, scanDir, writeLayer, type LayerEntry } from './layers.js';
import { withFileLock } from './lock.js';
import type { Store } from './store.js';
import { usernsRanges } from './userns.js';

/** An exported cache mount: its id (as written in `--mount=type=cache,id=`) and its layer. */
export interface CacheMountLayer {
  id: string;
  layer: CacheLayer;
}

/** Mounts bigger than this (file bytes) are not exported; TSBUILD_CACHE_MOUNT_MAX overrides. */
export const DEFAULT_CACHE_MOUNT_MAX = 512 * 1024 ** 2;

/** Where cache mount `id` lives: <root>/cache-mounts/<hash of id> (+ .lock, .id beside it). */
export function cacheMountPaths(storeRoot: string, id: string): { base: string; key: string; dir: string } {
  const base = join(storeRoot, 'cache-mounts');
  const key = createHash('sha256').update(id).digest('hex').slice(0, 32);
  return { base, key, dir: join(base, key) };
}

/** The export size limit: the build option, else $TSBUILD_CACHE_MOUNT_MAX (e.g. 2GB), else the default. */
export function cacheMountLimit(option?: number): number {
  if (option !== undefined) return option;
  const env = process.env['TSBUILD_CACHE_MOUNT_MAX'];
  if (env === undefined || env === '') return DEFAULT_CACHE_MOUNT_MAX;
  const n = parseSize(env);
  if (n === undefined) throw new UserError(`invalid TSBUILD_CACHE_MOUNT_MAX "${env}": expected a size such as 2GB or 512MB`);
  return n;
}

type Warn = (message: string) => void;

/**
 * One build's view of its cache mounts: which ids RUN steps used (what --cache-to exports) and,
 * with --cache-from, the once-per-build import of each. Handed to RUN steps through the solver's
 * cache options; mounts.ts calls use() for every cache mount it prepares.
 */
export class CacheMountSync {
  private readonly used = new Set<string>();
  private readonly imports = new Map<string, Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly remote: RemoteCache | undefined,
    private readonly warn: Warn,
  ) {}

  /** A RUN step is about to mount cache `id` (its directory exists): import it first if need be. */
  use(id: string): Promise<void> {
    this.used.add(id);
    const layer = this.remote?.mount(id);
    if (!layer) return Promise.resolve();
    // Only before the first RUN that uses it: later ones see what that RUN left, even if it emptied it.
    let p = this.imports.get(id);
    if (!p) {
      p = this.importMount(id, layer).catch((e: unknown) => {
        // A cache that cannot be imported only costs time: the RUN starts from an empty mount.
        this.warn(`cache mount ${JSON.stringify(id)}: not imported from ${this.remote!.reference}: ${(e as Error).message}`);
      });
      this.imports.set(id, p);
    }
    return p;
  }

  private async importMount(id: string, layer: CacheLayer): Promise<void> {
    const { base, key, dir } = cacheMountPaths(this.store.root, id);
    // A lock of its own: a RUN with sharing=locked may hold <key>.lock while we wait here.
    await withFileLock(join(base, `${key}.import.lock`), async () => {
      if ((await fsp.readdir(dir)).length > 0) return; // local content wins
      await this.remote!.fetch(layer);
      const stage = join(base, `${key}.import`);
      await fsp.rm(stage, { recursive: true, force: true }); // a killed import's leftover (the lock is ours)
      await fsp.mkdir(stage, { mode: 0o700 });
      try {
        const r = await applyLayer(this.store.blobs.createReadStream(layer.digest), layer.mediaType, stage);
        if (r.diffID !== layer.diffID) throw new UserError(`layer content ${r.diffID} does not match the recorded ${layer.diffID}`);
        if (r.warnings.length > 0) this.warn(`cache mount ${JSON.stringify(id)}: ${r.warnings.length} entries not reproduced (${r.warnings[0]})`);
        await sanitize(stage);
        // Moved in name by name: the mount directory keeps its inode, mode and owner.
        for (const name of await fsp.readdir(stage)) await fsp.rename(join(stage, name), join(dir, name));
      } finally {
        await fsp.rm(stage, { recursive: true, force: true });
      }
    });
  }

  /**
   * Pack the mounts to export: every mount used (packed from disk now) and every imported one not
   * used (carried forward as is). Over-limit, empty or unreadable mounts are skipped with a warning.
   */
  async pack(limit: number): Promise<CacheMountLayer[]> {
    const out: CacheMountLayer[] = [];
    for (const id of [...this.used].sort()) {
      try {
        const layer = await this.packOne(id, limit);
        if (layer) out.push({ id, layer });
      } catch (e) {
        this.warn(`cache mount ${JSON.stringify(id)}: not exported: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
    for (const id of this.remote?.mountIds() ?? []) {
      if (!this.used.has(id)) out.push({ id, layer: this.remote!.mount(id)! });
    }
    return out;
  }

  private async packOne(id: string, limit: number): Promise<CacheLayer | undefined> {
    const { base, key, dir } = cacheMountPaths(this.store.root, id);
    // Under the mount's lock: another build's sharing=locked RUN must not write while we read.
    return withFileLock(join(base, `${key}.lock`), async () => {
      let entries = (await scanDir(dir)).filter((e) => e.type !== 'char' && e.type !== 'block');
      if (!isRootProcess()) entries = await rootlessEntries(entries, (n) => this.warn(`cache mount ${JSON.stringify(id)}: ${n} files unreadable by this user (owned by a subordinate id) left out`));
      if (entries.length === 0) return undefined;
      const bytes = entries.reduce((s, e) => s + (e.type === 'file' ? (e.size ?? 0) : 0), 0);
      if (bytes > limit) {
        this.warn(`cache mount ${JSON.stringify(id)}: ${bytes} bytes is over the export limit of ${limit} (TSBUILD_CACHE_MOUNT_MAX): not exported`);
        return undefined;
      }
      // gzip as the step layers are by default: every registry accepts the media type.
      const blob = await writeLayer(entries, this.store.blobs, { format: 'oci' });
      return { diffID: blob.diffID, digest: blob.digest, size: blob.size, mediaType: blob.mediaType };
    });
  }
}

function isRootProcess(): boolean {
  return (process.getuid?.() ?? 0) === 0;
}

/**
 * Rootless: host ids → the ids RUN saw (the user is the container's root, the subordinate range
 * starts at 1; anything else is nobody), and files this user cannot read are dropped (with the
 * hardlinks to them), since the tar writer reads every file it lists.
 */
async function rootlessEntries(entries: LayerEntry[], dropped: (n: number) => void): Promise<LayerEntry[]> {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const r = usernsRanges();
  const map = (id: number, self: number, range: { start: number; count: number } | undefined) =>
    id === self ? 0 : range && id >= range.start && id < range.start + range.count ? 1 + id - range.start : 65534;
  const gone = new Set<string>();
  const out: LayerEntry[] = [];
  for (const e of entries) {
    if (e.type === 'hardlink' && gone.has(e.linkname!)) continue;
    if (e.type === 'file' && e.content && 'path' in e.content) {
      try {
        await fsp.access(e.content.path, C.R_OK);
      } catch {
        gone.add(e.path);
        continue;
      }
    }
    out.push({ ...e, uid: map(e.uid, uid, r?.uid), gid: map(e.gid, gid, r?.gid) });
  }
  if (gone.size > 0) dropped(gone.size);
  return out;
}

/** Remove device nodes and setuid/setgid bits an imported layer may carry, without following links. */
async function sanitize(dir: string): Promise<void> {
  for (const d of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isCharacterDevice() || d.isBlockDevice()) {
      await fsp.rm(p, { force: true });
      continue;
    }
    if (d.isSymbolicLink()) continue;
    const st = await fsp.lstat(p);
    if (st.mode & 0o6000) await fsp.chmod(p, st.mode & 0o1777);
    if (d.isDirectory()) await sanitize(p);
  }
}
