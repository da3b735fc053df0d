// node:crypto, loaded on first use. Loading it takes ~2.5 ms here, and a warm push has its requests
// out before it needs a hash or a random name (it verifies while the registry answers).
import type * as crypto from 'node:crypto';
import { createRequire } from 'node:module';

let loaded: typeof crypto | undefined;

function cryptoModule(): typeof crypto {
  return (loaded ??= createRequire(import.meta.url)('node:crypto') as typeof crypto);
}

export function createHash(algorithm: string): crypto.Hash {
  return cryptoModule().createHash(algorithm);
}

/** `bytes` random bytes as hex, for names that must not collide (temp files). */
export function randomHex(bytes: number): string {
  return cryptoModule().randomBytes(bytes).toString('hex');
}
