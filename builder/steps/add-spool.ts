// Where ADD keeps what it unpacks or downloads until the step's layer is written: small files in
// memory up to a budget, everything else in files of the step's scratch directory. A multi-GB
// archive or download then costs disk, not memory (layers are streamed, never buffered).

import { createWriteStream } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

export type SpooledContent = { data: Buffer } | { path: string };

export class Spool {
  private files = 0;
  private held = 0;

  /** Bytes of small files kept in memory at most, over the whole step. */
  private readonly memoryBudget: number;
  /** Files up to this size may stay in memory (a file per small member would cost more). */
  private readonly smallFile: number;
  /** Ctrl-C: stops writing a large member half-way. */
  readonly signal: AbortSignal | undefined;

  constructor(
    /** A private directory that lives until the layer is written (the caller removes it). */
    readonly dir: string,
    opts: { signal?: AbortSignal; memoryBudget?: number; smallFile?: number } = {},
  ) {
    this.memoryBudget = opts.memoryBudget ?? 32 << 20;
    this.smallFile = opts.smallFile ?? 256 << 10;
    this.signal = opts.signal;
  }

  /** A new file name in the scratch directory. */
  newPath(): string {
    return join(this.dir, `f${this.files++}`);
  }

  /** Keep `body` (of `size` bytes) until the layer is written. */
  async take(body: AsyncIterable<Buffer>, size: number): Promise<SpooledContent> {
    if (size <= this.smallFile && this.held + size <= this.memoryBudget) {
      const parts: Buffer[] = [];
      for await (const c of body) parts.push(c);
      const data = Buffer.concat(parts);
      this.held += data.length;
      return { data };
    }
    const path = this.newPath();
    await pipeline(body, createWriteStream(path, { flags: 'wx', mode: 0o600 }), { signal: this.signal });
    return { path };
  }

  /** Bytes the scratch directory's file system has free for unprivileged writers. */
  async freeBytes(): Promise<number> {
    const s = await statfs(this.dir);
    return s.bavail * s.bsize;
  }
}
