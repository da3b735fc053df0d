// A deterministic tar (ustar + PAX) header encoder. tar-stream's packer cannot write binary xattr values,
// uids above 2097151 or choose PAX deterministically, so layers are encoded here; reading still uses tar-stream.
import type { LayerEntry, LayerEntryType } from './layer-entry.js';

export const BLOCK = 512;
/** Two zero blocks end an archive. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

const TYPEFLAG: Record<LayerEntryType, string> = {
  file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6',
};

const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;

/** Bytes of zero padding after `size` bytes of entry data. */
export function padding(size: number): Buffer {
  const rem = size % BLOCK;
  return rem === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rem);
}

function isAsciiWithin(s: string, max: number): boolean {
  return /^[\x01-\x7f]*$/.test(s) && s.length <= max;
}

function octal(buf: Buffer, offset: number, width: number, value: number): void {
  // width includes the trailing NUL, as GNU tar and Go write it.
  buf.write(value.toString(8).padStart(width - 1, '0') + '\0', offset, width, 'ascii');
}

/** One PAX record: "<len> <key>=<value>\n" where len counts the whole record, itself included. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(' ' + key + '='), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function ustarHeader(name: string, h: {
  mode: number; uid: number; gid: number; size: number; mtime: number; typeflag: string;
  linkname: string; devmajor: number; devminor: number;
}): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(name, 0, 100, 'utf8');
  octal(b, 100, 8, h.mode);
  octal(b, 108, 8, h.uid);
  octal(b, 116, 8, h.gid);
  octal(b, 124, 12, h.size);
  octal(b, 136, 12, h.mtime);
  b.write('        ', 148, 8, 'ascii'); // checksum is computed with this field as spaces
  b.write(h.typeflag, 156, 1, 'ascii');
  b.write(h.linkname, 157, 100, 'utf8');
  b.write('ustar\x0000', 257, 8, 'ascii');
  // uname (265) and gname (297) stay empty: names would make layers depend on the build host's passwd.
  octal(b, 329, 8, h.devmajor);
  octal(b, 337, 8, h.devminor);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return b;
}

/**
 * Header block(s) for one entry: a PAX extended header first when a value does not fit ustar
 * (long or non-ASCII names, big ids/sizes, xattrs), then the ustar header. `mtime` must be already clamped.
 */
export function encodeHeader(e: LayerEntry, mtime: number): Buffer {
  const name = e.type === 'dir' ? e.path + '/' : e.path;
  const linkname = e.linkname ?? '';
  const size = e.type === 'file' ? (e.size ?? 0) : 0;
  const sec = Math.max(0, Math.floor(mtime));
  const pax: Buffer[] = [];
  // Keys in lexical order so the same entry always yields the same bytes.
  const records: [string, Buffer][] = [];
  if (e.gid > MAX_OCTAL_7) records.push(['gid', Buffer.from(String(e.gid))]);
  if (!isAsciiWithin(linkname, 100)) records.push(['linkpath', Buffer.from(linkname)]);
  if (!isAsciiWithin(name, 100)) records.push(['path', Buffer.from(name)]);
  if (size > MAX_OCTAL_11) records.push(['size', Buffer.from(String(size))]);
  if (e.uid > MAX_OCTAL_7) records.push(['uid', Buffer.from(String(e.uid))]);
  for (const key of Object.keys(e.xattrs ?? {}).sort()) records.push(['SCHILY.xattr.' + key, e.xattrs![key]!]);
  records.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [k, v] of records) pax.push(paxRecord(k, v));

  const out: Buffer[] = [];
  if (pax.length > 0) {
    const data = Buffer.concat(pax);
    out.push(ustarHeader(paxHeaderName(name), {
      mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: sec, typeflag: 'x', linkname: '', devmajor: 0, devminor: 0,
    }));
    out.push(data, padding(data.length));
  }
  out.push(ustarHeader(truncateUtf8(name, 100), {
    mode: e.mode & 0o7777,
    uid: e.uid > MAX_OCTAL_7 ? 0 : e.uid,
    gid: e.gid > MAX_OCTAL_7 ? 0 : e.gid,
    size: size > MAX_OCTAL_11 ? 0 : size,
    mtime: sec,
    typeflag: TYPEFLAG[e.type],
    linkname: truncateUtf8(linkname, 100),
    devmajor: e.devmajor ?? 0,
    devminor: e.devminor ?? 0,
  }));
  return Buffer.concat(out);
}

/**
 * The header of an entry that plain ustar can carry (ASCII name and link target within 100 bytes,
 * ids, size, mtime and device numbers within their octal fields, no xattrs: nearly every entry),
 * written straight into `buf` at `off` — the very bytes encodeHeader() returns for it, without the
 * Buffers and strings it makes (20,000 headers took ~0.5 s that way). Returns false, writing
 * nothing, for any other entry: the caller then uses encodeHeader(). `size` is the entry's data
 * size (0 unless a file), `mtime` already clamped.
 */
export function writePlainHeader(buf: Buffer, off: number, e: LayerEntry, size: number, mtime: number): boolean {
  const sec = Math.max(0, Math.floor(mtime));
  const devmajor = e.devmajor ?? 0;
  const devminor = e.devminor ?? 0;
  const linkname = e.linkname ?? '';
  const nameLen = e.path.length + (e.type === 'dir' ? 1 : 0);
  if (!fitsOctal(e.uid, MAX_OCTAL_7) || !fitsOctal(e.gid, MAX_OCTAL_7) || !fitsOctal(size, MAX_OCTAL_11) ||
      !(sec <= MAX_OCTAL_11) || !fitsOctal(devmajor, MAX_OCTAL_7) || !fitsOctal(devminor, MAX_OCTAL_7) ||
      nameLen > 100 || !isPlainAscii(e.path) || !isAsciiWithin100(linkname)) return false;
  if (e.xattrs) for (const _ in e.xattrs) return false;
  buf.fill(0, off, off + BLOCK);
  // The checksum is the sum of the header's bytes with its own field as eight spaces: summed while
  // writing (the rest of the record is zeros) instead of over all 512 bytes afterwards.
  let sum = 8 * 0x20 + TYPEFLAG[e.type].charCodeAt(0) + MAGIC_SUM;
  sum += writeAscii(buf, off, e.path);
  if (e.type === 'dir') {
    buf[off + e.path.length] = 0x2f; // '/'
    sum += 0x2f;
  }
  sum += putOctal(buf, off + 100, 8, e.mode & 0o7777);
  sum += putOctal(buf, off + 108, 8, e.uid);
  sum += putOctal(buf, off + 116, 8, e.gid);
  sum += putOctal(buf, off + 124, 12, size);
  sum += putOctal(buf, off + 136, 12, sec);
  buf[off + 156] = TYPEFLAG[e.type].charCodeAt(0);
  sum += writeAscii(buf, off + 157, linkname);
  buf.write(MAGIC, off + 257, 8, 'latin1');
  sum += putOctal(buf, off + 329, 8, devmajor);
  sum += putOctal(buf, off + 337, 8, devminor);
  putOctal(buf, off + 148, 7, sum);
  buf[off + 155] = 0x20;
  return true;
}

const MAGIC = 'ustar\x0000';
const MAGIC_SUM = [...MAGIC].reduce((n, c) => n + c.charCodeAt(0), 0);

function fitsOctal(v: number, max: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= max;
}

/** What isAsciiWithin() accepts, without the 100-byte limit (the caller checks lengths). */
function isPlainAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c > 0x7f) return false;
  }
  return true;
}

function isAsciiWithin100(s: string): boolean {
  return s.length <= 100 && isPlainAscii(s);
}

/** Writes an ASCII string; returns the sum of its bytes. */
function writeAscii(buf: Buffer, off: number, s: string): number {
  let sum = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    buf[off + i] = c;
    sum += c;
  }
  return sum;
}

/** `width - 1` zero-padded octal digits and a NUL, as octal() writes them (the value must fit);
 * returns the sum of the bytes written. */
function putOctal(buf: Buffer, off: number, width: number, value: number): number {
  buf[off + width - 1] = 0;
  let v = value;
  let sum = 0;
  for (let i = off + width - 2; i >= off; i--) {
    const d = 0x30 + (v % 8);
    buf[i] = d;
    sum += d;
    v = Math.floor(v / 8);
  }
  return sum;
}

/** Like Go's archive/tar: "<dir>/PaxHeaders.0/<base>", cut to fit the 100-byte field. */
function paxHeaderName(name: string): string {
  const trimmed = name.endsWith('/') ? name.slice(0, -1) : name;
  const i = trimmed.lastIndexOf('/');
  const dir = i >= 0 ? trimmed.slice(0, i) : '.';
  const base = trimmed.slice(i + 1);
  return truncateUtf8(`${dir}/PaxHeaders.0/${base}`, 100);
}

function truncateUtf8(s: string, max: number): string {
  const b = Buffer.from(s);
  if (b.length <= max) return s;
  // Drop a partial multi-byte sequence at the cut so the field is valid UTF-8.
  return b.subarray(0, max).toString('utf8').replace(/\uFFFD+$/, '');
}
