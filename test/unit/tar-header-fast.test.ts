// The in-place ustar header writer and the UTF-8 path order must give exactly what the general
// encoder and a Buffer comparison give: layer digests depend on every byte and on the entry order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareUtf8, compareEntryPaths, type LayerEntry, type LayerEntryType } from '../../cache/layer-entry.js';
import { BLOCK, encodeHeader, writePlainHeader } from '../../cache/tar-format.js';

/** A small deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES: LayerEntryType[] = ['file', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo'];
const ALPHABET = ['a', 'b', 'Z', '0', '-', '.', '_', '/', ' ', 'é', '日', '\u{1F600}', '\x7f', '\x01'];

function name(r: () => number, max: number): string {
  const n = 1 + Math.floor(r() * max);
  let s = '';
  for (let i = 0; i < n; i++) s += r() < 0.9 ? ALPHABET[Math.floor(r() * 6)] : ALPHABET[Math.floor(r() * ALPHABET.length)];
  return s;
}

function pick<T>(r: () => number, xs: T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function randomEntry(r: () => number): LayerEntry {
  const type = pick(r, TYPES);
  const e: LayerEntry = {
    path: name(r, r() < 0.1 ? 120 : 60),
    type,
    mode: Math.floor(r() * 0o10000) | (r() < 0.1 ? 0o100000 : 0),
    uid: pick(r, [0, 1000, 65534, 0o7777777, 0o7777777 + 1, 3_000_000]),
    gid: pick(r, [0, 1000, 0o7777777, 3_000_000]),
    mtime: pick(r, [0, 1_600_000_000, 1_700_000_000.75, -5, 2 ** 33, 2 ** 33 - 1]),
  };
  if (type === 'file') e.size = pick(r, [0, 1, 511, 512, 4097, 2 ** 33 - 1, 2 ** 33]);
  if (type === 'symlink' || type === 'hardlink') e.linkname = name(r, r() < 0.1 ? 120 : 40);
  if (type === 'char' || type === 'block') {
    e.devmajor = pick(r, [0, 1, 259, 0o7777777 + 1]);
    e.devminor = pick(r, [0, 5, 1048575]);
  }
  if (r() < 0.05) e.xattrs = r() < 0.5 ? {} : { 'user.k': Buffer.from('v') };
  return e;
}

describe('writePlainHeader', () => {
  it('writes the bytes encodeHeader gives, or declines entries that need a PAX header', () => {
    const r = rng(7);
    let plain = 0;
    let declined = 0;
    for (let i = 0; i < 20_000; i++) {
      const e = randomEntry(r);
      const mtime = e.mtime;
      const size = e.type === 'file' ? (e.size ?? 0) : 0;
      const expected = encodeHeader(e, mtime);
      const buf = Buffer.alloc(3 * BLOCK, 0xa5); // dirty memory, as in the layer writer's blocks
      if (writePlainHeader(buf, BLOCK, e, size, mtime)) {
        plain++;
        assert.equal(expected.length, BLOCK, `plain header for a PAX entry: ${JSON.stringify(e)}`);
        assert.deepEqual(buf.subarray(BLOCK, 2 * BLOCK), expected, JSON.stringify(e));
        // Nothing outside its record is touched.
        assert.ok(buf.subarray(0, BLOCK).every((b) => b === 0xa5));
        assert.ok(buf.subarray(2 * BLOCK).every((b) => b === 0xa5));
      } else {
        declined++;
        assert.ok(buf.every((b) => b === 0xa5), 'a declined entry wrote something');
      }
    }
    assert.ok(plain > 2000 && declined > 2000, `both paths exercised (${plain} plain, ${declined} declined)`);
  });
});

describe('compareUtf8', () => {
  it('orders strings as their UTF-8 bytes do', () => {
    const r = rng(11);
    const words = Array.from({ length: 3000 }, () => name(r, 8));
    words.push('', 'a', 'ab', '\uffff', '\ue000', '\u{10000}', '\ud800', '\udc00', 'a\ud83d\ude00', 'a\uffff');
    const bytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    for (let i = 0; i < 60_000; i++) {
      const a = pick(r, words);
      const b = r() < 0.3 ? a + pick(r, words) : pick(r, words);
      assert.equal(compareUtf8(a, b), bytes(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    }
    const sorted = [...words].sort(compareUtf8);
    assert.deepEqual(sorted, [...words].sort(bytes));
  });

  it('keeps an opaque marker right after its directory, before its children', () => {
    const paths = ['a/b', 'a/.wh..wh..opq', 'a', 'a-b', 'a/.wh.x', '.wh..wh..opq', 'b', 'a/\u00e9', 'a/!'];
    // The marker sorts as its directory's path followed by a NUL.
    const key = (p: string) => Buffer.from(p.endsWith('.wh..wh..opq') ? p.slice(0, -12) + '\0' : p);
    assert.deepEqual([...paths].sort(compareEntryPaths), [...paths].sort((a, b) => Buffer.compare(key(a), key(b))));
    assert.deepEqual([...paths].sort(compareEntryPaths).slice(0, 4), ['.wh..wh..opq', 'a', 'a-b', 'a/.wh..wh..opq']);
  });
});
