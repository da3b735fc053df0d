// CRC-32 (the gzip/zlib polynomial) for the parallel gzip writer: Node 20's zlib exposes no crc32,
// so this is slice-by-8 in plain JS, plus zlib's crc32_combine to join the CRCs of chunks that
// workers compressed independently into the one CRC the gzip trailer needs.

const POLY = 0xedb88320;

/** T[k][n]: CRC of byte n followed by k zero bytes, the tables slice-by-8 needs. */
const T: Uint32Array[] = (() => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? POLY ^ (c >>> 1) : c >>> 1;
    t[0]![n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[0]![n]!;
    for (let k = 1; k < 8; k++) {
      c = t[0]![c & 0xff]! ^ (c >>> 8);
      t[k]![n] = c >>> 0;
    }
  }
  return t;
})();

/** Continue `crc` (0 to start) over `buf`. */
export function crc32(buf: Uint8Array, crc = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = T as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let c = ~crc >>> 0;
  let i = 0;
  const n = buf.length;
  // Bytes up to a 4-byte boundary, so the bulk can be read as 32-bit words (two loads per 8 bytes
  // instead of eight: about twice the speed). Words are little-endian on every host Node runs on here.
  const lead = Math.min(n, (4 - (buf.byteOffset % 4)) % 4);
  while (i < lead) c = t0[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
  const words = Math.floor((n - i) / 8) * 2;
  if (words > 0) {
    const w = new Uint32Array(buf.buffer, buf.byteOffset + i, words);
    for (let k = 0; k < words; k += 2) {
      const a = w[k]! ^ c;
      const b = w[k + 1]!;
      c = t7[a & 0xff]! ^ t6[(a >>> 8) & 0xff]! ^ t5[(a >>> 16) & 0xff]! ^ t4[a >>> 24]!
        ^ t3[b & 0xff]! ^ t2[(b >>> 8) & 0xff]! ^ t1[(b >>> 16) & 0xff]! ^ t0[b >>> 24]!;
    }
    i += words * 4;
  }
  while (i < n) c = t0[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function gf2Times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  for (let i = 0; vec !== 0; i++, vec >>>= 1) if (vec & 1) sum ^= mat[i]!;
  return sum >>> 0;
}

function gf2Square(square: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = gf2Times(mat, mat[n]!);
}

/** The operator that appends `len` zero bytes to a CRC, kept for the last length asked (every
 * chunk of a parallel gzip but the last has the same length: the operator is built once). */
let lastLen = -1;
let lastOp: Uint32Array | undefined;

/** CRC of A‖B from crc(A), crc(B) and B's length (zlib's crc32_combine, the GF(2) matrix method). */
export function crc32Combine(crc1: number, crc2: number, len2: number): number {
  if (len2 <= 0) return crc1 >>> 0;
  if (len2 !== lastLen) {
    lastOp = zerosOperator(len2);
    lastLen = len2;
  }
  return (gf2Times(lastOp!, crc1 >>> 0) ^ crc2) >>> 0;
}

/** The GF(2) matrix that appends `len` zero bytes: the operator for one zero bit squared up, applied
 * for each set bit of `len` (the same steps as zlib's crc32_combine, on matrices instead of a CRC). */
function zerosOperator(len: number): Uint32Array {
  // Columns of the identity: applying it changes nothing.
  let acc: Uint32Array = new Uint32Array(32);
  for (let n = 0; n < 32; n++) acc[n] = (1 << n) >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = POLY; // the operator for one zero bit
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row >>> 0;
  gf2Square(even, odd); // two zero bits
  gf2Square(odd, even); // four zero bits
  let rest = len;
  do {
    gf2Square(even, odd);
    if (rest % 2) acc = compose(even, acc);
    rest = Math.floor(rest / 2);
    if (rest === 0) break;
    gf2Square(odd, even);
    if (rest % 2) acc = compose(odd, acc);
    rest = Math.floor(rest / 2);
  } while (rest !== 0);
  return acc;
}

/** The matrix of applying `first`, then `then`: its column n is then(first(e_n)). */
function compose(then: Uint32Array, first: Uint32Array): Uint32Array {
  const out = new Uint32Array(32);
  for (let n = 0; n < 32; n++) out[n] = gf2Times(then, first[n]!);
  return out;
}

/** zlib's crc32_combine step by step (the reference the cached operator must agree with). */
export function crc32CombineSlow(crc1: number, crc2: number, len2: number): number {
  if (len2 <= 0) return crc1 >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = POLY; // the operator for one zero bit
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row >>> 0;
  gf2Square(even, odd); // two zero bits
  gf2Square(odd, even); // four zero bits
  // Apply len2 zero bytes to crc1, squaring the operator for each bit of len2 (first square: one byte).
  let len = len2;
  do {
    gf2Square(even, odd);
    if (len % 2) crc1 = gf2Times(even, crc1);
    len = Math.floor(len / 2);
    if (len === 0) break;
    gf2Square(odd, even);
    if (len % 2) crc1 = gf2Times(odd, crc1);
    len = Math.floor(len / 2);
  } while (len !== 0);
  return (crc1 ^ crc2) >>> 0;
}
