// Deterministic workload inputs: build contexts laid out from a seed, so a run here and a run on
// another machine build the very same bytes.
import { mkdirSync, writeFileSync, openSync, writeSync, closeSync, utimesSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { Rng, randomBytesStream } from './rng.js';

/** A fixed mtime for generated files: contexts must not depend on when they were generated. */
export const FIXED_MTIME = 1_700_000_000;

const WORDS = [
  'function', 'return', 'const', 'let', 'var', 'if', 'else', 'for', 'while', 'module', 'exports', 'require',
  'this', 'value', 'options', 'callback', 'error', 'null', 'undefined', 'true', 'false', 'async', 'await',
  'Promise', 'resolve', 'reject', 'length', 'push', 'prototype', 'Object', 'keys', 'typeof', 'string',
  'number', 'index', 'result', 'buffer', 'stream', 'emit', 'event', 'data', 'config', 'path', 'join',
];
const PUNCT = ['(', ')', '{', '}', ';', '.', ',', ' = ', ' => ', '\n', '\n  ', ' === ', '[', ']'];

/** JavaScript-looking text of exactly `size` bytes: compresses about as well as real node_modules. */
export function jsText(rng: Rng, size: number): Buffer {
  const parts: string[] = [];
  let n = 0;
  while (n < size) {
    const w = rng.u32() % 3 === 0 ? rng.pick(PUNCT) : rng.pick(WORDS) + (rng.u32() % 5 === 0 ? String(rng.u32() % 1000) : '');
    parts.push(w);
    n += w.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

export interface ManyFiles {
  /** Relative path → content; kept so checks can compare digests without re-reading the tree. */
  files: Map<string, Buffer>;
}

/**
 * W1: a node_modules-like tree of `count` files of 1–8 KiB: packages holding package.json, lib/*.js,
 * a few nested node_modules, README.md. Sizes and names come from `seed` only.
 */
export function writeManySmall(dir: string, count: number, seed: number): Map<string, Buffer> {
  const rng = new Rng(seed);
  const files = new Map<string, Buffer>();
  let pkg = 0;
  while (files.size < count) {
    const base = rng.u32() % 8 === 0 && pkg > 0 ? `node_modules/pkg-${pkg - 1}/node_modules/dep-${pkg}` : `node_modules/pkg-${pkg}`;
    const perPkg = rng.int(5, 60);
    for (let i = 0; i < perPkg && files.size < count; i++) {
      const name = i === 0 ? 'package.json' : i === 1 ? 'README.md' : `lib/${i % 7 === 0 ? 'internal/' : ''}mod-${i}.js`;
      files.set(`${base}/${name}`, jsText(rng, rng.int(1024, 8192)));
    }
    pkg++;
  }
  writeTree(dir, files);
  return files;
}

export function writeTree(dir: string, files: Map<string, Buffer>): void {
  const made = new Set<string>();
  for (const [rel, data] of files) {
    const p = join(dir, rel);
    const d = dirname(p);
    if (!made.has(d)) {
      mkdirSync(d, { recursive: true });
      made.add(d);
    }
    writeFileSync(p, data);
    utimesSync(p, FIXED_MTIME, FIXED_MTIME);
  }
}

/** W2's incompressible file: `size` bytes of AES-CTR output. */
export function writeRandomFile(path: string, size: number, seed: number): void {
  const next = randomBytesStream(seed);
  streamFile(path, size, next);
}

/**
 * W2's highly compressible file: log-like lines drawn from a small vocabulary, the kind of data gzip
 * shrinks ~20x, so it exercises the deflate path rather than the stored path.
 */
export function writeCompressibleFile(path: string, size: number, seed: number): void {
  const rng = new Rng(seed);
  const levels = ['INFO', 'WARN', 'DEBUG', 'ERROR'];
  const msgs = ['request served', 'cache miss', 'connection reset by peer', 'retrying upload', 'layer committed', 'GC pause'];
  let t = 0;
  streamFile(path, size, (n) => {
    const lines: string[] = [];
    let len = 0;
    while (len < n) {
      t += rng.int(1, 50);
      const l = `2024-01-01T00:00:${String(t % 60).padStart(2, '0')}.${t % 1000} ${rng.pick(levels)} worker=${rng.int(1, 8)} ${rng.pick(msgs)} id=${rng.u32() % 100000}\n`;
      lines.push(l);
      len += l.length;
    }
    return Buffer.from(lines.join('')).subarray(0, n);
  });
}

function streamFile(path: string, size: number, next: (n: number) => Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  try {
    const CHUNK = 4 << 20;
    for (let off = 0; off < size; off += CHUNK) writeSync(fd, next(Math.min(CHUNK, size - off)));
  } finally {
    closeSync(fd);
  }
  utimesSync(path, FIXED_MTIME, FIXED_MTIME);
}

/** Give every directory under `root` (itself included) the fixed mtime, deepest first, once its files are written. */
export function fixDirTimes(root: string): void {
  for (const e of readdirSync(root, { withFileTypes: true })) if (e.isDirectory()) fixDirTimes(join(root, e.name));
  utimesSync(root, FIXED_MTIME, FIXED_MTIME);
}
