// The build cache: step cache key → what the step produced (a layer descriptor, or nothing for a
// metadata-only step) and when it first ran (its history `created`, so a fully cached rebuild gives
// the same image). Entries live in <root>/cache/entries/<keyhex>.json, written atomically; the
// file's mtime is the entry's last use (prune --filter until= reads it).
//
// Next to them, <root>/cache/records/<slothex>.json keeps the inputs that fed the last step built on
// a given parent at a given place (stage, step), so a miss can say what changed since (a file, a
// build arg, the instruction).
import { promises as fsp, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { digestHex } from '../oci/digest.js';
import { writeFileAtomic } from './fsutil.js';

export interface CacheLayer {
  diffID: string;
  digest: string;
  size: number;
  mediaType: string;
}

export interface CacheEntry {
  version: 1;
  key: string;
  /** Absent for a step that made no layer. */
  layer?: CacheLayer;
  /** History `created` of the step's first run. */
  created: string;
  /** For humans and prune: what the step was. */
  instruction: string;
}

/** Named inputs of one step: `instruction`, `arg:NAME`, `file:PATH`, `base`, ... → value or digest. */
export type StepInputs = Record<string, string>;

export class BuildCache {
  readonly dir: string;

  constructor(
    root: string,
    private readonly tmpDir: string,
  ) {
    this.dir = join(root, 'cache');
  }

  entryPath(key: string): string {
    return join(this.dir, 'entries', `${digestHex(key)}.json`);
  }

  // Entries and records are a few hundred bytes, read one per step: synchronous calls cost less than
  // the four thread-pool round trips of an async readFile (a no-op rebuild is mostly these lookups).

  async get(key: string): Promise<CacheEntry | undefined> {
    const file = this.entryPath(key);
    try {
      const e = JSON.parse(readFileSync(file, 'utf8')) as CacheEntry;
      if (e.version !== 1 || e.key !== key) return undefined;
      const now = new Date();
      try {
        utimesSync(file, now, now);
      } catch {
        // pruned meanwhile: the entry read is still good for this build
      }
      return e;
    } catch {
      return undefined;
    }
  }

  async put(entry: CacheEntry): Promise<void> {
    await fsp.mkdir(join(this.dir, 'entries'), { recursive: true });
    await writeFileAtomic(this.entryPath(entry.key), JSON.stringify(entry) + '\n', this.tmpDir);
  }

  async delete(key: string): Promise<void> {
    await fsp.rm(this.entryPath(key), { force: true });
  }

  /** Every entry with its last-use time (ms). Unreadable files are reported with entry undefined. */
  async list(): Promise<{ file: string; key?: string; entry?: CacheEntry; usedMs: number }[]> {
    const dir = join(this.dir, 'entries');
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      return [];
    }
    const out = [];
    for (const n of names.sort()) {
      const file = join(dir, n);
      try {
        const st = await fsp.stat(file);
        let entry: CacheEntry | undefined;
        try {
          entry = JSON.parse(await fsp.readFile(file, 'utf8')) as CacheEntry;
        } catch {
          entry = undefined;
        }
        out.push({ file, key: entry?.key, entry, usedMs: st.mtimeMs });
      } catch {
        // vanished meanwhile
      }
    }
    return out;
  }

  private recordPath(slot: string): string {
    return join(this.dir, 'records', `${digestHex(slot)}.json`);
  }

  /** What recordInputs kept for this slot: the named inputs, and the per-file digests apart. */
  async previousInputs(slot: string): Promise<{ inputs: StepInputs; files?: Map<string, string> } | undefined> {
    try {
      const r = JSON.parse(readFileSync(this.recordPath(slot), 'utf8')) as { inputs: StepInputs; files?: string[] };
      if (!r.files) return { inputs: r.inputs };
      const files = new Map<string, string>();
      for (let i = 0; i + 1 < r.files.length; i += 2) files.set(r.files[i]!, r.files[i + 1]!);
      return { inputs: r.inputs, files };
    } catch {
      return undefined;
    }
  }

  /** `files` as one flat array (name, digest, name, ...): 20,000 of them write and read fast that way. */
  async recordInputs(slot: string, inputs: StepInputs, files?: Map<string, string>): Promise<void> {
    await fsp.mkdir(join(this.dir, 'records'), { recursive: true });
    const flat = files && files.size > 0 ? { files: [...files].flat() } : {};
    await writeFileAtomic(this.recordPath(slot), JSON.stringify({ inputs, ...flat }) + '\n', this.tmpDir);
  }
}
