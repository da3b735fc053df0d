// Layer media types and (de)compression: gzip through the parallel writer (pgzip.ts), zstd through
// Node's zlib when it has it (>= 22.15) and otherwise through the `zstd` program as a streaming
// filter (Node 20 has no zstd; setup.sh installs the Debian package).
import { Duplex, PassThrough } from 'node:stream';
import {
  DOCKER_LAYER, DOCKER_LAYER_GZIP, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, layerCompression,
  type Compression,
} from '../oci/mediatypes.js';
import { childProcessBuiltin, zlibBuiltin } from '../oci/builtins.js';
import { UserError } from '../oci/errors.js';
import { pgzip } from './pgzip.js';
import type { ChunkMemo } from './pgzip-reuse.js';
import { writeChunk } from './streams.js';

/**
 * gzip level 1 by default: on source trees and logs it is 3–4x faster than zlib's default 6 for
 * files ~10% bigger, and layers are compressed on every build, not once. `--compression-level` changes it.
 */
export const DEFAULT_GZIP_LEVEL = 1;
/** zstd's own default: faster than gzip -1 and smaller than gzip -9. */
export const DEFAULT_ZSTD_LEVEL = 3;

export function layerMediaType(format: 'oci' | 'docker', compression: Compression): string {
  if (format === 'docker') {
    if (compression === 'zstd') throw new UserError('zstd compression needs the OCI format (Docker schema 2 has no zstd layer type)');
    return compression === 'gzip' ? DOCKER_LAYER_GZIP : DOCKER_LAYER;
  }
  return compression === 'gzip' ? OCI_LAYER_GZIP : compression === 'zstd' ? OCI_LAYER_ZSTD : OCI_LAYER;
}

/** Refuse a level the compressor would reject, as a one-line user error. */
export function checkLevel(compression: Compression, level: number | undefined): void {
  if (level === undefined || compression === 'none') return;
  const [lo, hi] = compression === 'gzip' ? [0, 9] : [1, 19];
  if (!Number.isInteger(level) || level < lo || level > hi) {
    throw new UserError(`--compression-level for ${compression} must be an integer from ${lo} to ${hi}, got ${level}`);
  }
}

// Node >= 22.15 has zstd in zlib; probe for it rather than pinning a version.
const zstdZlib = (): { createZstdCompress?: (opts?: object) => Duplex; createZstdDecompress?: () => Duplex } =>
  zlibBuiltin() as never;

/**
 * A program as a stream filter (stdin to stdout). Its output ends only once it has exited 0: any
 * other exit errors the stream instead, so a broken pipe or a corrupt input (xz's check failing after
 * the last byte) cannot pass for a short, valid output. Destroying the stream kills the program; one
 * that is not installed is a UserError `missing`.
 */
export function filterProcess(cmd: string, args: string[], missing = `zstd compression needs the zstd program (apt-get install zstd): ${cmd} not found`): Duplex {
  const child = childProcessBuiltin().spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-400)));
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  child.stdout.pipe(out, { end: false });
  const d = Duplex.from({ writable: child.stdin, readable: out });
  child.on('error', (e: NodeJS.ErrnoException) => {
    d.destroy(e.code === 'ENOENT' ? new UserError(missing) : e);
  });
  child.on('close', (code, signal) => {
    if (code === 0) out.end();
    else if (!d.destroyed) d.destroy(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? 'exit ' + code}): ${stderr.trim()}`));
  });
  // Destroying the stream (a consumer gave up) must not leave the process running.
  d.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
  return d;
}

function zstdCompressor(level: number): Duplex {
  const zlib = zstdZlib();
  if (zlib.createZstdCompress) {
    const param = (zlibBuiltin().constants as unknown as Record<string, number>).ZSTD_c_compressionLevel!;
    return zlib.createZstdCompress({ params: { [param]: level } });
  }
  // -T0: one thread per core. zstd's multi-threaded output does not depend on the thread count, so
  // layer digests stay the same on every machine (for one zstd version).
  return filterProcess('zstd', ['-q', '-c', `-${level}`, '-T0', '--no-progress']);
}

/** Feed `input` through the Duplex `z` and yield its output. */
async function* through(input: AsyncIterable<Uint8Array>, z: Duplex): AsyncGenerator<Uint8Array> {
  const feeding = (async () => {
    try {
      for await (const c of input) await writeChunk(z, c as Buffer);
      z.end();
    } catch (e) {
      z.destroy(e as Error);
    }
  })();
  try {
    for await (const c of z) yield c as Uint8Array;
  } finally {
    z.destroy();
    await feeding;
  }
}

/** The compressed form of `input` (a tar stream), or undefined for 'none'. `memo`: gzip chunks
 * compressed before are reused from it (see pgzip-reuse.ts). */
export function compress(input: AsyncIterable<Uint8Array>, compression: Compression, level?: number, memo?: ChunkMemo): AsyncIterable<Uint8Array> | undefined {
  checkLevel(compression, level);
  switch (compression) {
    case 'none':
      return undefined;
    case 'gzip':
      // One gzip member whatever the core count (see pgzip.ts), deflated by libdeflate, fixed header.
      return pgzip(input, { level: level ?? DEFAULT_GZIP_LEVEL, memo });
    case 'zstd':
      return through(input, zstdCompressor(level ?? DEFAULT_ZSTD_LEVEL));
  }
}

/** A decompressor for a layer of `mediaType`, or undefined for an uncompressed tar. */
export function decompressor(mediaType: string): Duplex | undefined {
  switch (layerCompression(mediaType)) {
    case 'none':
      return undefined;
    case 'gzip':
      return zlibBuiltin().createGunzip();
    case 'zstd': {
      const decompress = zstdZlib().createZstdDecompress;
      if (decompress) return decompress();
      return filterProcess('zstd', ['-q', '-d', '-c', '--no-progress']);
    }
  }
}
