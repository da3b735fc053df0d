// Seeded pseudo-random numbers, so every run of the benchmark generates the very same workloads.
import { createCipheriv } from 'node:crypto';

/** splitmix32-style PRNG: small, fast, and identical on every machine for a given seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    let z = (this.s = (this.s + 0x9e3779b9) >>> 0);
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + (this.u32() % (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.u32() % xs.length]!;
  }
}

/**
 * A deterministic incompressible byte stream: AES-256-CTR over zeros with a key derived from the
 * seed. Hundreds of MB/s, where a JS PRNG would make generating 512 MiB the slowest part of a run.
 */
export function randomBytesStream(seed: number): (n: number) => Buffer {
  const key = Buffer.alloc(32);
  key.writeUInt32LE(seed >>> 0, 0);
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return (n: number) => cipher.update(Buffer.alloc(n));
}
