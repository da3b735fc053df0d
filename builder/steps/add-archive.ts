// ADD's local-archive handling: detect a (compressed) tar by its magic bytes like Docker's
// DetectCompression + a valid tar header, and turn its entries into layer entries under the
// destination without letting any entry escape it. The archive is decompressed and read as a
// stream: its files go to the step's spool, so its size costs disk, not memory.

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { filterProcess } from '../../cache/compression.js';
import { zlibBuiltin } from '../../oci/builtins.js';
import { UserError } from '../../oci/errors.js';
import { ancestorsRel, cleanPath, dirnameRel, joinRel } from '../context/paths.js';
import type { Spool, SpooledContent } from './add-spool.js';
import type { Owner } from './copy-owner.js';
import type { LayerPlan, PlannedEntry } from './fileops-plan.js';

export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

export function detectCompression(head: Buffer): Compression {
  const starts = (bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts([0x1f, 0x8b, 0x08])) return 'gzip';
  if (starts([0x42, 0x5a, 0x68])) return 'bzip2';
  if (starts([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (starts([0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  return 'none';
}

/** A 512-byte block is a tar header when its checksum field matches (any tar flavour, v7 too). */
export function isTarHeader(block: Buffer): boolean {
  if (block.length < 512) return false;
  const field = block.subarray(148, 156).toString('latin1').replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]+$/.test(field)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  return sum === parseInt(field, 8);
}

/**
 * The most bytes an archive may expand to: what the store's file system has free (beyond it the
 * layer could not be written anyway, and a decompression bomb would first fill the disk), or less
 * when TSBUILD_ADD_MAX_BYTES says so.
 */
export async function maxArchiveBytes(spool: Spool): Promise<{ limit: number; reason: 'cap' | 'free' }> {
  const free = await spool.freeBytes();
  const raw = process.env.TSBUILD_ADD_MAX_BYTES;
  if (raw === undefined || raw === '') return { limit: free, reason: 'free' };
  if (!/^\d+$/.test(raw)) throw new UserError(`TSBUILD_ADD_MAX_BYTES must be a number of bytes, got ${JSON.stringify(raw)}`);
  const cap = Number(raw);
  return cap < free ? { limit: cap, reason: 'cap' } : { limit: free, reason: 'free' };
}

function rawStream(content: SpooledContent): Readable {
  return 'data' in content ? Readable.from([content.data]) : createReadStream(content.path, { highWaterMark: 1 << 20 });
}

async function rawHead(content: SpooledContent): Promise<Buffer> {
  if ('data' in content) return content.data.subarray(0, 8);
  const fh = await open(content.path, 'r');
  try {
    const buf = Buffer.alloc(8);
    const { bytesRead } = await fh.read(buf, 0, 8, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function decompressed(content: SpooledContent, c: Compression): Readable {
  const raw = rawStream(content);
  if (c === 'none') return raw;
  if (c === 'gzip') {
    const gunzip = zlibBuiltin().createGunzip({ chunkSize: 256 << 10 });
    pipeline(raw, gunzip).catch(() => undefined); // errors reach the reader through gunzip
    return gunzip;
  }
  // bzip2/xz/zstd: node has no decoder (zstd only from 22.15), so the system tool decompresses.
  const tool = filterProcess(c, ['-dc'], `ADD failed: cannot decompress a ${c} archive: ${c} is not installed`);
  pipeline(raw, tool).catch(() => undefined); // errors reach the reader through the tool's stream
  return tool;
}

/**
 * The archive's tar stream (decompressed) when `content` is a tar, possibly compressed; undefined
 * when it is not (Docker then copies it as a file: also a gzip whose content is not a tar, or data
 * that only starts like a compressed stream).
 */
export async function openTar(content: SpooledContent): Promise<Readable | undefined> {
  const c = detectCompression(await rawHead(content));
  const stream = decompressed(content, c);
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let have = 0;
  try {
    while (have < 512) {
      const r = await it.next();
      if (r.done) break;
      head.push(r.value);
      have += r.value.length;
    }
  } catch (e) {
    stream.destroy();
    // A decompressor that is missing or cannot start: ADD must fail, not copy the archive as a file.
    if (e instanceof UserError || (e as NodeJS.ErrnoException).syscall?.startsWith('spawn')) throw e;
    return undefined; // not really compressed
  }
  const first = Buffer.concat(head);
  if (!isTarHeader(first.subarray(0, 512))) {
    stream.destroy();
    return undefined;
  }
  const rest = (async function* () {
    yield first;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  })();
  const tarStream = Readable.from(rest, { objectMode: false });
  // Closed at its end, on an error, or when the reader gives up: no decompressor left running.
  tarStream.on('close', () => stream.destroy());
  return tarStream;
}

export interface ExtractOptions {
  owner?: Owner;
  /** Where member files wait for the layer writer. */
  spool: Spool;
  /** The archive as the Containerfile names it (for messages). */
  name: string;
  fail(message: string): never;
}

/** Contained, destination-relative form of an archive member name; '..' escaping is refused. */
function memberPath(name: string, opts: ExtractOptions): string {
  const c = cleanPath(name.replace(/^\/+/, '')); // absolute names are taken relative to the destination
  if (c === '..' || c.startsWith('../')) opts.fail(`ADD failed: archive entry ${JSON.stringify(name)} is outside of the destination`);
  return c === '.' ? '' : c;
}

type TarEntry = Readable & { header: tar.Header };

const MEMBER_TYPES = new Set<tar.Header['type']>(['file', 'contiguous-file', 'directory', 'symlink', 'link', 'character-device', 'block-device', 'fifo']);

async function drain(entry: TarEntry): Promise<void> {
  for await (const _ of entry);
}

/** Extract the tar stream `tarStream` into `destRel` as planned entries. */
export async function extractTar(plan: LayerPlan, tarStream: Readable, destRel: string, opts: ExtractOptions): Promise<void> {
  const ex = tar.extract();
  try {
    // Inside the try: a destination that cannot take the archive must still stop the decompressor.
    await plan.ensureParents(destRel);
    await plan.ensureDir(destRel);
    const { limit, reason } = await maxArchiveBytes(opts.spool);
    tarStream.pipe(ex);
    tarStream.on('error', (e) => ex.destroy(e));
    let expanded = 0;
    for await (const entry of ex as unknown as AsyncIterable<TarEntry>) {
      opts.spool.signal?.throwIfAborted();
      // Sizes are declared before the data: a bomb is refused before it is written out.
      expanded += entry.header.size ?? 0;
      if (expanded > limit) {
        const how = reason === 'cap' ? 'set by TSBUILD_ADD_MAX_BYTES' : 'the bytes free in the build store; free some space';
        opts.fail(`ADD failed: archive ${JSON.stringify(opts.name)} expands to more than ${limit} bytes (${how}; a decompression bomb?)`);
      }
      await extractEntry(plan, entry, destRel, opts);
    }
  } catch (e) {
    if (e instanceof UserError || opts.spool.signal?.aborted) throw e;
    // Writing the spool (disk full, I/O error) is not the archive's fault: say what failed.
    if ((e as NodeJS.ErrnoException).syscall !== undefined) opts.fail(`ADD failed: unpacking ${JSON.stringify(opts.name)}: ${(e as Error).message}`);
    opts.fail(`ADD failed: archive ${JSON.stringify(opts.name)} cannot be read: ${(e as Error).message}`);
  } finally {
    tarStream.destroy();
    ex.destroy();
  }
}

async function extractEntry(plan: LayerPlan, entry: TarEntry, destRel: string, opts: ExtractOptions): Promise<void> {
  const h = entry.header;
  const member = memberPath(h.name, opts);
  if (member === '') return drain(entry); // "./" itself: the destination keeps its metadata
  const rel = joinRel(destRel, member);
  // Refuse writing through a symlink, whether the archive made it or it was already there.
  for (const a of ancestorsRel(member)) {
    const p = joinRel(destRel, a);
    const st = await plan.stat(p);
    if (st && st.type !== 'dir') opts.fail(`ADD failed: archive entry ${JSON.stringify(h.name)} would be written through non-directory /${p}`);
  }
  await plan.ensureParents(rel);
  const e: PlannedEntry = {
    path: rel,
    type: 'file',
    mode: (h.mode ?? 0o644) & 0o7777,
    uid: opts.owner?.uid ?? h.uid ?? 0,
    gid: opts.owner?.gid ?? h.gid ?? 0,
    mtime: Math.floor((h.mtime?.getTime() ?? 0) / 1000),
  };
  if (h.type !== undefined && !MEMBER_TYPES.has(h.type)) return drain(entry); // pax/gnu records are consumed by tar-stream; others are skipped
  if (h.type !== 'directory' && (await plan.stat(rel))?.type === 'dir') opts.fail(`ADD failed: archive entry ${JSON.stringify(h.name)} would replace directory /${rel}`);
  switch (h.type) {
    case 'directory':
      e.type = 'dir';
      break;
    case 'symlink': {
      const target = h.linkname ?? '';
      if (!target.startsWith('/')) {
        const lexical = cleanPath(joinRel(dirnameRel(member), target) || '.');
        if (lexical === '..' || lexical.startsWith('../')) opts.fail(`ADD failed: invalid symlink ${JSON.stringify(h.name)} -> ${JSON.stringify(target)}`);
      }
      Object.assign(e, { type: 'symlink', linkname: target });
      break;
    }
    case 'link': {
      const target = memberPath(h.linkname ?? '', opts);
      const targetRel = joinRel(destRel, target);
      if (target === '' || plan.get(targetRel)?.type !== 'file') opts.fail(`ADD failed: invalid hardlink ${JSON.stringify(h.name)} -> ${JSON.stringify(h.linkname)}`);
      Object.assign(e, { type: 'hardlink', linkname: targetRel, size: 0 });
      break;
    }
    case 'character-device':
    case 'block-device':
      Object.assign(e, { type: h.type === 'character-device' ? 'char' : 'block', devmajor: h.devmajor ?? 0, devminor: h.devminor ?? 0 });
      break;
    case 'fifo':
      e.type = 'fifo';
      break;
    default: {
      // A regular file: its content waits in the spool until the layer is written.
      const size = h.size ?? 0;
      Object.assign(e, { size, content: await opts.spool.take(entry, size) });
      plan.put(e);
      return;
    }
  }
  await drain(entry);
  plan.put(e);
}
