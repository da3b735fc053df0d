// Digest helpers. Hashing a buffer is pure computation, so it lives here; streaming hashes live in cache/.
import { createHash } from './crypto.js';

export type Digest = string; // "sha256:<64 hex>"

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

export function sha256(data: string | Uint8Array): Digest {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

export function digestHex(d: Digest): string {
  if (!isDigest(d)) throw new Error(`invalid digest ${JSON.stringify(d)}`);
  return d.slice('sha256:'.length);
}

/** chainID(L0) = diffID(L0); chainID(L0..n) = sha256(chainID(L0..n-1) + " " + diffID(Ln)). */
export function chainIds(diffIds: Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256(out[out.length - 1] + ' ' + d));
  return out;
}

/** Canonical JSON for manifests and configs: stable key order as written, no extra whitespace. */
export function canonicalJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}
