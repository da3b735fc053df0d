// ADD <url>: download (never extracted) into the step's spool, optional --checksum verification
// on the way, BuildKit's file metadata (mode 0600, mtime from Last-Modified).

import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { UserError, type SourceLocation } from '../../oci/errors.js';
import type { Spool } from './add-spool.js';

export function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/** Git sources as BuildKit recognises them (git@, git://, or an http(s) URL of a .git repo). */
export function isGitUrl(s: string): boolean {
  return /^git@/.test(s) || /^git:\/\//i.test(s) || /^https?:\/\/[^#?]*\.git(?:[#?].*)?$/i.test(s);
}

export interface Download {
  /** The downloaded file, in the spool. */
  path: string;
  size: number;
  /** File name from the URL path's last segment. */
  name: string;
  mtime?: number;
}

const DIGEST = /^(sha256|sha384|sha512):([0-9a-f]+)$/;

/** Parse --checksum=algo:hex (only sha256/384/512 digests). */
export function parseChecksum(spec: string, location: SourceLocation): { algo: string; hex: string } {
  const m = DIGEST.exec(spec.trim().toLowerCase());
  const lengths: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
  if (!m || m[2].length !== lengths[m[1]]) throw new UserError(`invalid checksum ${JSON.stringify(spec)}: expected sha256:<64 hex digits>`, { location });
  return { algo: m[1], hex: m[2] };
}

export async function download(url: string, opts: { checksum?: string; location: SourceLocation; spool: Spool; signal?: AbortSignal }): Promise<Download> {
  const checksum = opts.checksum !== undefined ? parseChecksum(opts.checksum, opts.location) : undefined;
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow', signal: opts.signal });
  } catch (e) {
    throw new UserError(`ADD failed: cannot fetch ${url}: ${(e as Error).message}`, { location: opts.location, cause: e });
  }
  if (!res.ok) throw new UserError(`ADD failed: fetching ${url}: HTTP ${res.status} ${res.statusText}`, { location: opts.location });
  const hash = checksum ? createHash(checksum.algo) : undefined;
  const path = opts.spool.newPath();
  let size = 0;
  try {
    const body = res.body ? Readable.fromWeb(res.body as WebReadableStream<Uint8Array>) : Readable.from([]);
    const count = async function* (src: AsyncIterable<Buffer>) {
      for await (const c of src) {
        hash?.update(c);
        size += c.length;
        yield c;
      }
    };
    await pipeline(body, count, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    throw new UserError(`ADD failed: downloading ${url}: ${(e as Error).message}`, { location: opts.location, cause: e });
  }
  if (checksum && hash) {
    const got = hash.digest('hex');
    if (got !== checksum.hex) {
      throw new UserError(`ADD failed: checksum mismatch for ${url}: expected ${checksum.algo}:${checksum.hex}, got ${checksum.algo}:${got}`, { location: opts.location });
    }
  }
  const lm = res.headers.get('last-modified');
  const t = lm ? Date.parse(lm) : NaN;
  return { path, size, name: urlFileName(url, res.headers.get('content-disposition')), mtime: Number.isNaN(t) ? undefined : Math.floor(t / 1000) };
}

function urlFileName(url: string, disposition: string | null): string {
  const segs = new URL(url).pathname.split('/').filter((s) => s !== '');
  const last = segs.length > 0 ? decodedSegment(segs[segs.length - 1]) : '';
  if (last !== '' && last !== '.' && last !== '..' && !/[/\0]/.test(last)) return last;
  const m = disposition ? /filename="?([^";/\0]+)"?/i.exec(disposition) : null;
  return m && m[1] !== '.' && m[1] !== '..' ? m[1] : 'index.html';
}

/** A URL path segment decoded; one that is not valid percent-encoding is taken as written (Go's PathUnescape would fail; the name is only a file name). */
function decodedSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}
