// Shared by the hostile-*, crash-*, concurrency-* and secrets-* integration tests: a marker tree
// outside every store and context (to prove nothing outside was created or changed), and readers
// for everything an image and a store hold (to search them for things that must not be there).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { snapshotTree, diffTrees, type TreeEntry } from '../helpers/tree.js';
import { tsbuildOk } from '../helpers/cli.js';

/** A directory with a secret file that hostile inputs try to read or overwrite. */
export class Marker {
  readonly secret = `SECRET-${randomBytes(12).toString('hex')}`;
  /** A name hostile inputs try to create; searched for after each build. */
  readonly sentinel = `PWNED-${randomBytes(6).toString('hex')}`;
  private before?: Map<string, TreeEntry>;
  constructor(readonly dir: string) {}

  snapshot(): void {
    this.before = snapshotTree(this.dir);
  }

  /**
   * Differences in the marker tree since snapshot(), plus the sentinel name found anywhere in
   * `searchRoot` (deeply, except below `inside`: the store, where an image's files belong) or at
   * the top of /, /tmp, /root and /etc.
   */
  changes(searchRoot?: string, inside?: string): string[] {
    const out = this.before ? diffTrees(this.before, snapshotTree(this.dir)) : [];
    for (const root of ['/', '/tmp', '/root', '/etc']) out.push(...findNamed(root, this.sentinel, 1));
    if (searchRoot) out.push(...findNamed(searchRoot, this.sentinel, 8, (p) => p === inside));
    return out;
  }
}

/** Paths under `root` (to `depth` levels) whose name starts with `prefix`. */
export function findNamed(root: string, prefix: string, depth: number, skip: (p: string) => boolean = () => false): string[] {
  const hits: string[] = [];
  const walk = (dir: string, d: number) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(dir, n);
      if (skip(p)) continue;
      if (n.startsWith(prefix)) hits.push(p);
      if (d > 1) {
        try {
          if (lstatSync(p).isDirectory()) walk(p, d - 1);
        } catch {
          /* vanished */
        }
      }
    }
  };
  walk(root, depth);
  return hits;
}

/** Every blob of an image (manifest, config, layers), layers decompressed. */
export function imageBlobs(root: string, ref: string, work: string): { name: string; data: Buffer }[] {
  const layout = join(work, `export-${randomBytes(4).toString('hex')}`);
  tsbuildOk(['push', '--root', root, ref, `oci:${layout}:x`]);
  return layoutBlobs(layout);
}

export function layoutBlobs(layout: string): { name: string; data: Buffer }[] {
  const dir = join(layout, 'blobs/sha256');
  return readdirSync(dir).map((name) => ({ name, data: inflate(readFileSync(join(dir, name))) }));
}

/** Decompresses gzip (and zstd via the zstd tool) so layer contents can be searched. */
export function inflate(b: Buffer): Buffer {
  if (b[0] === 0x1f && b[1] === 0x8b) return gunzipSync(b);
  if (b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) return execFileSync('zstd', ['-dc'], { input: b, maxBuffer: 1 << 30 });
  return b;
}

/** Entry names of every layer tar of an image (via `tar -t`, an independent reader). */
export function layerEntries(blobs: { name: string; data: Buffer }[]): string[] {
  const out: string[] = [];
  for (const b of blobs) {
    if (b.data.length < 512 || b.data.subarray(257, 262).toString('latin1') !== 'ustar') continue;
    out.push(...execFileSync('tar', ['-tf', '-'], { input: b.data, maxBuffer: 1 << 28 }).toString().split('\n').filter(Boolean));
  }
  return out;
}

/** All regular files below a directory (for searching a whole store or output tree). */
export function allFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}
