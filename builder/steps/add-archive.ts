// ADD's local-archive handling: detect a (compressed) tar by its magic bytes like Docker's
// DetectCompression + a valid tar header, and turn its entries into layer entries under the
// destination without letting any entry escape it.

import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { ancestorsRel, cleanPath, dirnameRel, joinRel } from '../context/paths.js';
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
 * Archives are unpacked in memory, so a decompression bomb (a few MB expanding to many GB) would
 * take all of it, and then — the decoder failing — be copied as a plain file. Beyond this many
 * decompressed bytes ADD refuses the archive instead. TSBUILD_ADD_MAX_BYTES overrides (found by the
 * hostile-archive tests).
 */
export function maxArchiveBytes(): number {
  return Number(process.env.TSBUILD_ADD_MAX_BYTES) || 2 ** 30;
}

/**
 * The decompressed tar bytes if `data` is a tar archive (possibly compressed), else undefined.
 * `tooLarge` is called (and must throw) when it expands beyond maxArchiveBytes().
 */
export function asTar(data: Buffer, tooLarge: (limit: number) => never = (l) => { throw new RangeError(`archive expands beyond ${l} bytes`); }): Buffer | undefined {
  const c = detectCompression(data);
  const limit = maxArchiveBytes();
  let raw: Buffer;
  try {
    if (c === 'none') raw = data;
    else if (c === 'gzip') raw = gunzipSync(data, { maxOutputLength: limit });
    else {
      // bzip2/xz/zstd: node has no decoder, so use the system tools (stream-free, bounded output).
      const r = spawnSync(c, ['-dc'], { input: data, maxBuffer: limit });
      if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOBUFS') return tooLarge(limit);
      if (r.error || r.status !== 0) return undefined;
      raw = r.stdout;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return tooLarge(limit);
    return undefined; // not really compressed: Docker then copies the file as-is
  }
  return isTarHeader(raw.subarray(0, 512)) ? raw : undefined;
}

export interface ExtractOptions {
  owner?: Owner;
  fail(message: string): never;
}

/** Contained, destination-relative form of an archive member name; '..' escaping is refused. */
function memberPath(name: string, opts: ExtractOptions): string {
  const c = cleanPath(name.replace(/^\/+/, '')); // absolute names are taken relative to the destination
  if (c === '..' || c.startsWith('../')) opts.fail(`ADD failed: archive entry ${JSON.stringify(name)} is outside of the destination`);
  return c === '.' ? '' : c;
}

/** Extract the tar `raw` into `destRel` as planned entries. */
export async function extractTar(plan: LayerPlan, raw: Buffer, destRel: string, opts: ExtractOptions): Promise<void> {
  await plan.ensureParents(destRel);
  await plan.ensureDir(destRel);
  const ex = tar.extract();
  Readable.from([raw]).pipe(ex);
  for await (const entry of ex as unknown as AsyncIterable<Readable & { header: tar.Header }>) {
    const h = entry.header;
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    const member = memberPath(h.name, opts);
    if (member === '') continue; // "./" itself: the destination keeps its metadata
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
    switch (h.type) {
      case 'file':
      case 'contiguous-file':
      case undefined: {
        const data = Buffer.concat(chunks);
        Object.assign(e, { size: data.length, content: { data } });
        break;
      }
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
      default:
        continue; // pax/gnu metadata records are consumed by tar-stream; others are skipped
    }
    if (e.type !== 'dir' && (await plan.stat(rel))?.type === 'dir') opts.fail(`ADD failed: archive entry ${JSON.stringify(h.name)} would replace directory /${rel}`);
    plan.put(e);
  }
}
