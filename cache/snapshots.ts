// Unpacked layers keyed by chain ID (<root>/snapshots/<chainIDhex>/fs), in overlay format so they can be
// used directly as overlay lower dirs. A snapshot appears by one rename, so it is either complete or absent.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { chainIds, digestHex } from '../oci/digest.js';
import { UserError } from '../oci/errors.js';
import type { BlobStore } from './blobs.js';
import { exists, fsyncDir, tempName } from './fsutil.js';
import type { ApplyResult } from './layer-apply.js';
import { usernsRanges } from './userns-ranges.js';

export interface SnapshotLayer {
  diffID: string;
  digest: string;
  mediaType: string;
}

export class SnapshotStore {
  constructor(
    /** <root>/snapshots */
    readonly dir: string,
    private readonly blobs: BlobStore,
    private readonly tmpDir: string,
  ) {}

  /** fs dir of a committed snapshot. */
  fsPath(chainIdHex: string): string {
    return join(this.dir, chainIdHex, 'fs');
  }

  async has(chainIdHex: string): Promise<boolean> {
    return exists(this.fsPath(chainIdHex));
  }

  async ensure(layers: SnapshotLayer[]): Promise<string[]> {
    const chains = chainIds(layers.map((l) => l.diffID));
    const out: string[] = [];
    await fsp.mkdir(this.dir, { recursive: true });
    for (let i = 0; i < layers.length; i++) {
      const hex = digestHex(chains[i]!);
      if (!(await this.has(hex))) await this.unpack(layers[i]!, hex, i > 0 ? digestHex(chains[i - 1]!) : undefined);
      out.push(this.fsPath(hex));
    }
    return out;
  }

  private async unpack(layer: SnapshotLayer, chainHex: string, parentHex: string | undefined): Promise<void> {
    await fsp.mkdir(this.tmpDir, { recursive: true });
    const work = join(this.tmpDir, tempName('snapshot'));
    await fsp.mkdir(join(work, 'fs'), { recursive: true, mode: 0o755 });
    try {
      if (!(await this.blobs.has(layer.digest))) throw new UserError(`layer ${layer.digest} is not in the store`);
      // Rootless with subordinate ids: unpack as root of a user namespace so the snapshot keeps the
      // layer's owners (mapped into the range), which RUN steps under USER rely on.
      // The unpacking code (and the user-namespace worker) is loaded when a layer is unpacked, not
      // for every command that opens the store (a push never unpacks).
      const r: ApplyResult = usernsRanges()
        ? await (await import('./userns.js')).inUserns<ApplyResult>({ op: 'unpack', blob: this.blobs.path(layer.digest), mediaType: layer.mediaType, dest: join(work, 'fs') })
        : await (await import('./layer-apply.js')).applyLayer(this.blobs.createReadStream(layer.digest), layer.mediaType, join(work, 'fs'), { overlayWhiteouts: true });
      if (r.diffID !== layer.diffID) {
        throw new UserError(`layer ${layer.digest} does not match its diffID: expected ${layer.diffID}, got ${r.diffID}`);
      }
      await this.place(work, layer, chainHex, parentHex, { warnings: r.warnings });
    } finally {
      await this.discard(work);
    }
  }

  /**
   * Make `dir` the snapshot of `layer` on top of the snapshot `parentHex` (none: a first layer) by
   * renaming it into place, instead of unpacking the layer's blob. `dir` must hold exactly what
   * unpacking the layer would give (cache/upper-snapshot.ts makes a RUN step's overlay upper dir
   * so) and be on the store's file system. Leaves `dir` alone when that snapshot exists already.
   */
  async adopt(layer: SnapshotLayer, parentHex: string | undefined, dir: string): Promise<void> {
    const chainHex = digestHex(parentHex === undefined ? layer.diffID : chainIds([`sha256:${parentHex}`, layer.diffID])[1]!);
    if (await this.has(chainHex)) return;
    await fsp.mkdir(this.tmpDir, { recursive: true });
    const work = join(this.tmpDir, tempName('snapshot'));
    await fsp.mkdir(work, { mode: 0o755 });
    try {
      await fsp.rename(dir, join(work, 'fs'));
      await this.place(work, layer, chainHex, parentHex, { warnings: [], source: 'upper' });
    } finally {
      await this.discard(work);
    }
  }

  /** work/fs is complete: add meta.json and rename work into place, atomically. */
  private async place(work: string, layer: SnapshotLayer, chainHex: string, parentHex: string | undefined, more: { warnings: string[]; source?: 'upper' }): Promise<void> {
    // source "upper": a RUN step's upper dir kept, not unpacked from the blob (for tests and debugging).
    await fsp.writeFile(join(work, 'meta.json'), JSON.stringify({ diffID: layer.diffID, digest: layer.digest, parent: parentHex ?? null, ...more }) + '\n');
    try {
      await fsp.rename(work, join(this.dir, chainHex));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Another build committed the same snapshot first: theirs is as good as ours.
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    }
    await fsyncDir(this.dir);
  }

  /** Remove a work dir that did not become a snapshot (rootless: it may hold other ids' files). */
  private async discard(work: string): Promise<void> {
    if (!(await exists(work))) return;
    if (usernsRanges()) await (await import('./userns.js')).inUserns({ op: 'rm', paths: [work] }).catch(() => undefined);
    await fsp.rm(work, { recursive: true, force: true });
  }

  /**
   * <root>/snapshots/l/<short> -> ../<chainIDhex>/fs. Overlay's mount data is limited to one page, so
   * long lowerdir chains use these instead of full paths. Returns the absolute link path.
   */
  async shortLink(chainIdHex: string): Promise<string> {
    const ldir = join(this.dir, 'l');
    await fsp.mkdir(ldir, { recursive: true });
    // 20 hex chars of a sha256: collisions are not a practical concern, and the name is stable.
    const link = join(ldir, chainIdHex.slice(0, 20));
    const want = join('..', chainIdHex, 'fs');
    try {
      if ((await fsp.readlink(link)) === want) return link;
    } catch {
      // missing: create below
    }
    const tmp = join(ldir, tempName('link'));
    await fsp.symlink(want, tmp);
    await fsp.rename(tmp, link);
    return link;
  }
}
