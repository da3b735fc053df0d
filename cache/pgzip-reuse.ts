// Deflated chunks remembered across layer writes. A parallel-gzip chunk's bytes are a pure function of
// its input, the level and the deflate build (pgzip-chunk.ts), so a chunk that
// was compressed before need not be compressed again: its bytes are read back from the blob that
// holds them. Rebuilding a big COPY after editing one file leaves every chunk but the edited one's
// unchanged (tar records are 512-byte aligned, so what follows does not even move unless the file's
// padded size changes), and a --no-cache rebuild of unchanged files produces the same chunks again.
//
// The index (<root>/cache/gzip-chunks.json) lists, for the last few gzip layers written, each
// chunk's key and where its bytes lie in that layer's blob. It is only a cache: blobs are
// content-addressed and immutable, so an entry is either still right or its blob is gone (then the
// chunk is simply compressed again); the file is replaced atomically and a lost update only costs time.
import { closeSync, openSync, readSync, promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import type { BlobStore } from './blobs.js';
import { writeFileAtomic } from './fsutil.js';
import { nativeCrc32 as crc32 } from './pgzip-chunk.js';

export { chunkKey } from './pgzip-chunk.js';

const VERSION = 2;
/** Layers whose chunks are remembered: the last few written (an edit-rebuild loop needs one). */
const KEEP = 8;
/** [key, offset in the blob, length, CRC-32 of the chunk's input, CRC-32 of its deflated bytes] */
type ChunkRow = [string, number, number, number, number];

interface IndexFile {
  version: number;
  layers: { digest: string; chunks: ChunkRow[] }[];
}

/** What pgzip() asks of a memo of chunks. */
export interface ChunkMemo {
  /** The deflated bytes, input CRC and bytes' CRC of a chunk seen before, or undefined. */
  find(key: string): { out: Uint8Array; crc: number; outCrc: number } | undefined;
  /** Where a chunk's bytes landed in the stream being written (`outCrc`: CRC-32 of `length` bytes there). */
  note(key: string, offset: number, length: number, crc: number, outCrc: number): void;
  /** Every key find() may answer (handed to the workers, which key chunks themselves). */
  keys(): string[];
}

export class ChunkReuse implements ChunkMemo {
  private readonly known = new Map<string, { digest: string; offset: number; length: number; crc: number; outCrc: number }>();
  private readonly noted: ChunkRow[] = [];
  private readonly fds = new Map<string, number>();
  /** Chunks answered from earlier layers (for tests and benchmarks). */
  hits = 0;

  private constructor(
    private readonly file: string,
    private readonly tmpDir: string,
    private readonly blobs: BlobStore,
    private readonly layers: IndexFile['layers'],
  ) {
    for (const l of layers) {
      for (const [key, offset, length, crc, outCrc] of l.chunks) if (!this.known.has(key)) this.known.set(key, { digest: l.digest, offset, length, crc, outCrc });
    }
  }

  /** The memo of a store (its blobs' store), with what earlier layer writes left in the index. */
  static async open(blobs: BlobStore): Promise<ChunkReuse> {
    const file = join(dirname(blobs.dir), 'cache', 'gzip-chunks.json');
    let layers: IndexFile['layers'] = [];
    try {
      const f = JSON.parse(await fsp.readFile(file, 'utf8')) as IndexFile;
      if (f.version === VERSION && Array.isArray(f.layers)) layers = f.layers.filter(validLayer);
    } catch {
      // missing or unreadable: start empty (it is only a cache)
    }
    return new ChunkReuse(file, blobs.tmpDir, blobs, layers);
  }

  find(key: string): { out: Uint8Array; crc: number; outCrc: number } | undefined {
    const r = this.known.get(key);
    if (!r) return undefined;
    try {
      let fd = this.fds.get(r.digest);
      if (fd === undefined) {
        fd = openSync(this.blobs.path(r.digest), 'r');
        this.fds.set(r.digest, fd);
      }
      const out = Buffer.allocUnsafeSlow(r.length);
      if (readSync(fd, out, 0, r.length, r.offset) !== r.length) return undefined;
      // The bytes must be the ones noted: a damaged blob or index costs a compression, never a layer.
      if (crc32(out) !== r.outCrc) return undefined;
      this.hits++;
      return { out, crc: r.crc, outCrc: r.outCrc };
    } catch {
      return undefined; // the blob was pruned since: compress the chunk again
    }
  }

  keys(): string[] {
    return [...this.known.keys()];
  }

  note(key: string, offset: number, length: number, crc: number, outCrc: number): void {
    this.noted.push([key, offset, length, crc, outCrc]);
  }

  /** Close the blobs read from; nothing is recorded (the write failed or is not kept). */
  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }

  /** Remember the chunks of the layer just stored as `digest` (best effort), and close. */
  async save(digest: string): Promise<void> {
    this.close();
    if (this.noted.length < 2) return; // a one-chunk layer is cheaper to compress than to look up
    const layers = [{ digest, chunks: this.noted }, ...this.layers.filter((l) => l.digest !== digest)].slice(0, KEEP);
    try {
      await fsp.mkdir(dirname(this.file), { recursive: true });
      await writeFileAtomic(this.file, JSON.stringify({ version: VERSION, layers } satisfies IndexFile), this.tmpDir);
    } catch {
      // best effort: a cache
    }
  }
}

function validLayer(l: unknown): l is IndexFile['layers'][number] {
  const x = l as IndexFile['layers'][number];
  return typeof x?.digest === 'string' && /^sha256:[a-f0-9]{64}$/.test(x.digest) && Array.isArray(x.chunks) &&
    x.chunks.every((c) => Array.isArray(c) && typeof c[0] === 'string' && Number.isSafeInteger(c[1]) && Number.isSafeInteger(c[2]) && Number.isSafeInteger(c[3]) && Number.isSafeInteger(c[4]));
}
