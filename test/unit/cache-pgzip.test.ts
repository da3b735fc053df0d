// The parallel gzip writer: one valid gzip member (zlib and the gzip program read it), bytes that do
// not depend on how the input was split, stored chunks for incompressible data, and a CRC that
// matches zlib's.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, deflateRawSync, gunzipSync, gzipSync, inflateRawSync } from 'node:zlib';
import { deflateSyncFlush } from '../../native/deflate.js';
import { CHUNK, pgzip } from '../../cache/pgzip.js';
import { crc32, crc32Combine, crc32CombineSlow } from '../../cache/pgzip-crc32.js';
import { looksIncompressible, nativeCrc32, storedBlocks, SURELY_COMPRESSIBLE_BITS } from '../../cache/pgzip-chunk.js';

async function gz(data: Buffer, step: number, opts: { level?: number; inline?: boolean } = {}): Promise<Buffer> {
  const out: Uint8Array[] = [];
  async function* src() {
    for (let i = 0; i < data.length; i += step) yield data.subarray(i, i + step);
  }
  for await (const c of pgzip(src(), opts)) out.push(c);
  return Buffer.concat(out);
}

function text(n: number): Buffer {
  const words = ['layer', 'tar', 'blob', 'digest', 'chunk', 'worker', 'deflate', '\n'];
  const parts: string[] = [];
  let len = 0;
  for (let i = 0; len < n; i++) {
    const w = words[(i * 7 + (i >> 3)) % words.length]! + ' ';
    parts.push(w);
    len += w.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

describe('pgzip', () => {
  it('crc32 and crc32Combine agree with zlib', () => {
    const b = randomBytes(100_003);
    const g = gzipSync(b);
    const want = g.readUInt32LE(g.length - 8);
    assert.equal(crc32(b), want);
    assert.equal(nativeCrc32(b), want);
    assert.equal(crc32Combine(crc32(b.subarray(0, 777)), crc32(b.subarray(777)), b.length - 777), want);
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  });

  it('stored blocks are the bytes zlib level 0 writes', () => {
    for (const n of [0, 1, 5, 65_534, 65_535, 65_536, 131_070, 131_071, 100_000, CHUNK / 4, CHUNK - 1, CHUNK]) {
      const data = randomBytes(n);
      const zlib0 = deflateRawSync(data, { level: 0, finishFlush: constants.Z_SYNC_FLUSH, chunkSize: n + 5 * Math.ceil(n / 65_535 + 1) + 64 });
      assert.deepEqual(storedBlocks(data), zlib0, `${n} bytes`);
    }
  });

  it('crc32Combine with its cached operator agrees with the step-by-step method', () => {
    // Lengths repeat (as chunks do) and change (the last chunk), so the cache is hit and replaced.
    for (const len of [1, 2, 3, 7, 8, 512, 65_535, CHUNK, CHUNK, CHUNK, 12_345, CHUNK, 2 ** 31 + 5]) {
      for (let i = 0; i < 20; i++) {
        const a = (Math.random() * 2 ** 32) >>> 0;
        const b = (Math.random() * 2 ** 32) >>> 0;
        assert.equal(crc32Combine(a, b, len), crc32CombineSlow(a, b, len), `len ${len}`);
      }
    }
    const data = randomBytes(3 * CHUNK + 17);
    let crc = 0;
    for (let off = 0; off < data.length; off += CHUNK) {
      const part = data.subarray(off, off + CHUNK);
      crc = crc32Combine(crc, nativeCrc32(part), part.length);
    }
    assert.equal(crc, crc32(data));
  });

  it('writes one gzip stream that gunzip and gzip -d read, over many chunks, with workers', async () => {
    const data = Buffer.concat([text(2 * CHUNK + 12345), randomBytes(CHUNK + 999), text(CHUNK / 2)]);
    const out = await gz(data, 300_000);
    assert.deepEqual(gunzipSync(out), data);
    assert.deepEqual(execFileSync('gzip', ['-dc'], { input: out, maxBuffer: 64 << 20 }), data);
    // Random data is stored, not grown by a failed deflate; the text still compresses.
    assert.ok(out.length < data.length * 0.5, `compressed to ${out.length} of ${data.length}`);
  });

  it('does not depend on how the input is split or on worker threads', async () => {
    const data = Buffer.concat([text(CHUNK + 5), randomBytes(CHUNK / 3), text(CHUNK)]);
    const a = await gz(data, 65_536);
    const b = await gz(data, CHUNK, { inline: true });
    const c = await gz(data, 1_000_001);
    assert.deepEqual(a, b);
    assert.deepEqual(a, c);
  });

  it('handles empty and tiny input and every level', async () => {
    assert.deepEqual(gunzipSync(await gz(Buffer.alloc(0), 1)), Buffer.alloc(0));
    for (const level of [0, 1, 6, 9]) assert.deepEqual(gunzipSync(await gz(Buffer.from('hi'), 1, { level })), Buffer.from('hi'));
    await assert.rejects(gz(Buffer.from('x'), 1, { level: 10 }), /level/);
  });
});

describe('libdeflate with a sync-flush ending (native/deflate.ts)', () => {
  // Every piece must end byte-aligned with no final block, whatever the last block was (dynamic,
  // static, stored, or the tiny-input shortcut that stores without deflating), so that pieces
  // concatenate: checked by inflating pieces joined and closed with an empty final block.
  const FINAL = Buffer.from([0x03, 0x00]);
  const kinds: Record<string, (n: number) => Buffer> = {
    random: (n) => randomBytes(n),
    zeros: (n) => Buffer.alloc(n),
    text: (n) => text(n),
  };
  it('pieces of any size and kind concatenate into one stream at every level', () => {
    for (const n of [0, 1, 2, 10, 50, 51, 52, 55, 56, 57, 100, 4096, 65_535, 65_536, 70_000, 300_001]) {
      for (const [kind, make] of Object.entries(kinds)) {
        const data = make(n);
        for (const level of [1, 2, 6, 9, 12]) {
          const one = deflateSyncFlush(data, level);
          assert.deepEqual(one.subarray(-4), Buffer.from([0, 0, 0xff, 0xff]), `${kind} ${n} level ${level}: sync marker`);
          assert.deepEqual(inflateRawSync(Buffer.concat([one, FINAL])), data, `${kind} ${n} level ${level}`);
          const cut = n >> 1;
          const two = Buffer.concat([deflateSyncFlush(data.subarray(0, cut), level), deflateSyncFlush(data.subarray(cut), level), FINAL]);
          assert.deepEqual(inflateRawSync(two), data, `${kind} ${n} level ${level}, in two`);
        }
      }
    }
  });
  it('gives the same bytes every time, and deflates log-like text about as well as zlib level 1', () => {
    // Words and numbers drawn by a fixed LCG: repetitive like logs, not periodic like text() (on a
    // periodic input libdeflate's fastest level finds shorter matches than zlib's).
    const words = ['GET', 'POST', '/api/v1/layers', 'status=200', 'status=404', 'worker', 'blob', 'digest', 'took', 'ms', 'INFO', 'WARN'];
    let x = 12345;
    const next = (): number => (x = (x * 1103515245 + 12345) % 2 ** 31);
    const parts: string[] = [];
    for (let len = 0; len < CHUNK; ) {
      const w = next() % 5 === 0 ? String(next() % 100_000) : words[next() % words.length]!;
      parts.push(w, next() % 9 === 0 ? '\n' : ' ');
      len += w.length + 1;
    }
    const data = Buffer.from(parts.join('')).subarray(0, CHUNK);
    const a = deflateSyncFlush(data, 1);
    assert.deepEqual(deflateSyncFlush(Buffer.from(data), 1), a);
    const zlib1 = deflateRawSync(data, { level: 1, finishFlush: constants.Z_SYNC_FLUSH });
    assert.ok(a.length <= zlib1.length * 1.02, `libdeflate ${a.length} bytes, zlib ${zlib1.length}`);
    assert.throws(() => deflateSyncFlush(data, 0), /level/);
    assert.throws(() => deflateSyncFlush(data, 13), /level/);
  });
});

describe('the stored-or-deflate probe', () => {
  // looksIncompressible answers "compressible" without deflating when a sample has at most 6 bits of
  // entropy per byte. That may only ever skip a deflate that would have said the same: check the
  // deflate on samples right at that bound, with no repetition a match could use.
  const PROBE = 16 * 1024;
  const entropy = (b: Uint8Array): number => {
    const c = new Array<number>(256).fill(0);
    for (const x of b) c[x]!++;
    return -c.filter((n) => n > 0).reduce((h, n) => h + (n / b.length) * Math.log2(n / b.length), 0);
  };
  /** Random bytes drawn from `alphabet` symbols, the first `heavy` of them twice as likely. */
  const drawn = (alphabet: number, heavy: number, seed: number): Buffer => {
    const r = randomBytes(PROBE * 2);
    const out = Buffer.alloc(PROBE);
    const weights = alphabet + heavy;
    for (let i = 0; i < PROBE; i++) {
      const v = r.readUInt16LE(i * 2) % weights;
      out[i] = (((v < 2 * heavy ? v >> 1 : v - heavy) * 37 + seed) & 0xff);
    }
    return out;
  };
  it('a sample at or under the entropy bound always deflates by more than the 3% that decides', () => {
    const atBound = Math.floor(2 ** SURELY_COMPRESSIBLE_BITS);
    for (const [alphabet, heavy] of [[atBound, 0], [atBound + 6, 10], [atBound + 16, 30], [48, 0], [atBound + 36, 60]] as const) {
      const sample = drawn(alphabet, heavy, alphabet);
      const h = entropy(sample);
      if (h > SURELY_COMPRESSIBLE_BITS) continue; // only samples the shortcut answers are in question
      const out = deflateSyncFlush(sample, 1);
      assert.ok(out.length < sample.length * 0.97, `entropy ${h.toFixed(3)}: deflate kept ${out.length} of ${sample.length} bytes`);
      assert.equal(looksIncompressible(Buffer.concat([sample, sample, sample, sample])), false);
    }
  });
  it('random and already-compressed data are still found incompressible', () => {
    assert.equal(looksIncompressible(randomBytes(1 << 18)), true);
    assert.equal(looksIncompressible(gzipSync(Buffer.from(randomBytes(1 << 18).toString('base64')), { level: 9 })), true);
    assert.equal(looksIncompressible(Buffer.from('const a = require("x");\n'.repeat(10_000))), false);
  });
});
