// A streaming tar reader (ustar, PAX incl. binary SCHILY.xattr values, GNU long names) that hashes
// every byte it consumes, so the diffID of a layer comes out of the same pass that reads it.
// tar-stream decodes PAX values as UTF-8 text, which corrupts binary xattrs such as security.capability.
import { createHash } from 'node:crypto';
import { UserError } from '../oci/errors.js';
import type { LayerEntry, LayerEntryType } from './layer-entry.js';
import { BLOCK } from './tar-format.js';

export type TarEntryHeader = Omit<LayerEntry, 'content'> & { size: number };

export interface TarMember {
  /** The member name as stored (not normalised). */
  header: TarEntryHeader;
  /** The member's data; must be consumed before asking for the next member (otherwise it is skipped). */
  body(): AsyncIterable<Buffer>;
}

class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Uint8Array>;
  private eof = false;
  readonly hash = createHash('sha256');

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Make at least n bytes available unless the input ends first; returns the available count. */
  private async fill(n: number): Promise<number> {
    while (this.buf.length < n && !this.eof) {
      const r = await this.it.next();
      if (r.done) {
        this.eof = true;
        break;
      }
      const chunk = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
      this.hash.update(chunk);
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    }
    return Math.min(n, this.buf.length);
  }

  /** Up to n bytes (fewer only at end of input). */
  async readUpTo(n: number): Promise<Buffer> {
    if (this.buf.length === 0) await this.fill(1);
    const take = Math.min(n, this.buf.length);
    const out = this.buf.subarray(0, take);
    this.buf = this.buf.subarray(take);
    return out;
  }

  async readExact(n: number): Promise<Buffer> {
    if ((await this.fill(n)) < n) throw new UserError('bad layer archive: unexpected end of tar stream');
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  async skip(n: number): Promise<void> {
    while (n > 0) {
      const b = await this.readUpTo(Math.min(n, 1 << 20));
      if (b.length === 0) throw new UserError('bad layer archive: unexpected end of tar stream');
      n -= b.length;
    }
  }

  /** Consume (and hash) whatever follows the end-of-archive marker: diffIDs cover the whole stream. */
  async drainHashed(): Promise<void> {
    this.buf = Buffer.alloc(0);
    for (;;) {
      const r = await this.it.next();
      if (r.done) break;
      this.hash.update(r.value);
    }
    this.eof = true;
  }
}

const TYPES: Record<string, LayerEntryType> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo',
};

function cstr(b: Buffer, off: number, len: number): Buffer {
  const f = b.subarray(off, off + len);
  const z = f.indexOf(0);
  return z >= 0 ? f.subarray(0, z) : f;
}

function num(b: Buffer, off: number, len: number): number {
  const f = b.subarray(off, off + len);
  if (f[0]! & 0x80) {
    // base-256 (GNU): big-endian two's complement with the top bit as a marker.
    let v = 0;
    for (let i = 1; i < f.length; i++) v = v * 256 + f[i]!;
    return f[0] === 0xff ? -v : v;
  }
  const s = cstr(f, 0, len).toString('ascii').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new UserError(`bad layer archive: invalid numeric field ${JSON.stringify(s)}`);
  return parseInt(s, 8);
}

function validChecksum(h: Buffer): boolean {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const v = i >= 148 && i < 156 ? 32 : h[i]!;
    unsigned += v;
    signed += v > 127 ? v - 256 : v;
  }
  const stored = num(h, 148, 8);
  return stored === unsigned || stored === signed;
}

/** PAX records: "<len> <key>=<value>\n"; values are raw bytes (binary-safe). */
function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < data.length) {
    const sp = data.indexOf(0x20, off);
    if (sp < 0) break;
    const len = parseInt(data.subarray(off, sp).toString('ascii'), 10);
    if (!Number.isFinite(len) || len <= 0 || off + len > data.length) throw new UserError('bad layer archive: malformed PAX header');
    const rec = data.subarray(sp + 1, off + len - 1); // without the trailing '\n'
    const eq = rec.indexOf(0x3d);
    if (eq > 0) out.set(rec.subarray(0, eq).toString('utf8'), rec.subarray(eq + 1));
    off += len;
  }
  return out;
}

export interface TarReader {
  members: AsyncIterable<TarMember>;
  /** sha256 of every byte of the (uncompressed) input; valid once `members` is exhausted. */
  diffID(): string;
}

export function readTar(source: AsyncIterable<Uint8Array>): TarReader {
  const r = new ByteReader(source);
  let digest: string | undefined;
  async function* members(): AsyncGenerator<TarMember> {
    let global = new Map<string, Buffer>();
    let local = new Map<string, Buffer>();
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      const h = await r.readUpTo(BLOCK).then(async (b) => (b.length === 0 ? b : b.length < BLOCK ? Buffer.concat([b, await r.readExact(BLOCK - b.length)]) : b));
      if (h.length === 0) break; // no end marker at all: tolerated, as GNU tar does
      if (h.every((x) => x === 0)) break;
      if (!validChecksum(h)) throw new UserError('bad layer archive: tar header checksum mismatch (not a tar, or still compressed?)');
      const flag = String.fromCharCode(h[156]!);
      const size = num(h, 124, 12);
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
        if (size > 64 << 20) throw new UserError('bad layer archive: oversized extended header');
        const data = (await r.readExact(padded)).subarray(0, size);
        if (flag === 'x') local = new Map([...local, ...parsePax(data)]);
        else if (flag === 'g') global = new Map([...global, ...parsePax(data)]);
        else if (flag === 'L') longName = cstr(data, 0, data.length).toString('utf8');
        else longLink = cstr(data, 0, data.length).toString('utf8');
        continue;
      }
      const pax = new Map([...global, ...local]);
      local = new Map();
      const magic = h.subarray(257, 263).toString('latin1');
      let name = cstr(h, 0, 100).toString('utf8');
      if (magic === 'ustar\0' && h[345] !== 0) name = cstr(h, 345, 155).toString('utf8') + '/' + name;
      name = pax.get('path')?.toString('utf8') ?? longName ?? name;
      const linkname = pax.get('linkpath')?.toString('utf8') ?? longLink ?? cstr(h, 157, 100).toString('utf8');
      longName = longLink = undefined;
      let type = TYPES[flag];
      if (type === undefined) {
        // Sparse files, volume labels, ...: not something an image layer may contain.
        throw new UserError(`bad layer archive: unsupported tar entry type '${flag}' for ${JSON.stringify(name)}`);
      }
      if (type === 'file' && name.endsWith('/')) type = 'dir';
      const realSize = pax.has('size') ? Number(pax.get('size')!.toString()) : size;
      const xattrs: Record<string, Buffer> = {};
      for (const [k, v] of pax) if (k.startsWith('SCHILY.xattr.')) xattrs[k.slice('SCHILY.xattr.'.length)] = Buffer.from(v);
      const header: TarEntryHeader = {
        path: name,
        type,
        mode: num(h, 100, 8) & 0o7777,
        uid: pax.has('uid') ? Number(pax.get('uid')!.toString()) : num(h, 108, 8),
        gid: pax.has('gid') ? Number(pax.get('gid')!.toString()) : num(h, 116, 8),
        mtime: pax.has('mtime') ? Number(pax.get('mtime')!.toString()) : num(h, 136, 12),
        size: type === 'file' ? realSize : 0,
      };
      if (type === 'symlink' || type === 'hardlink') header.linkname = linkname;
      if (type === 'char' || type === 'block') {
        header.devmajor = num(h, 329, 8);
        header.devminor = num(h, 337, 8);
      }
      if (Object.keys(xattrs).length > 0) header.xattrs = xattrs;
      // Hardlinks and the like may carry a size field but never data in practice; trust the type.
      const dataSize = type === 'file' ? realSize : 0;
      let remaining = dataSize;
      const body = async function* (): AsyncGenerator<Buffer> {
        while (remaining > 0) {
          const b = await r.readUpTo(Math.min(remaining, 1 << 20));
          if (b.length === 0) throw new UserError('bad layer archive: unexpected end of tar stream');
          remaining -= b.length;
          yield b;
        }
      };
      yield { header, body };
      if (remaining > 0) await r.skip(remaining);
      const pad = (BLOCK - (dataSize % BLOCK)) % BLOCK;
      if (pad) await r.skip(pad);
    }
    await r.drainHashed();
    digest = 'sha256:' + r.hash.digest('hex');
  }
  return {
    members: members(),
    diffID() {
      if (digest === undefined) throw new Error('diffID requested before the tar was fully read');
      return digest;
    },
  };
}
