// Digest verification while streaming: every byte that crosses a transport goes through one of these,
// so a corrupt or truncated blob is caught before anything refers to it.
import type { Hash } from 'node:crypto';
import { createHash } from '../oci/crypto.js';
import { Transform, type TransformCallback } from 'node:stream';
import { UserError } from '../oci/errors.js';

const ALGORITHMS: Record<string, string> = { sha256: 'sha256', sha512: 'sha512' };

export function hashFor(digest: string): Hash {
  const alg = digest.slice(0, digest.indexOf(':'));
  const node = ALGORITHMS[alg];
  if (!node) throw new UserError(`unsupported digest algorithm in ${JSON.stringify(digest)}`);
  return createHash(node);
}

export interface Expected {
  digest: string;
  /** -1 or undefined when the size is not known in advance. */
  size?: number;
}

/**
 * A pass-through that hashes and counts. It fails the stream with a UserError naming `reference`
 * when the content does not match, including early when it grows past the expected size.
 */
export class DigestVerifier extends Transform {
  private readonly hash: Hash | undefined;
  /** Bytes seen so far; the final size once the stream has ended. */
  bytes = 0;

  /** `sizeOnly`: the size is checked, the digest left to whoever receives the bytes and checks it. */
  constructor(
    private readonly expected: Expected,
    private readonly reference: string,
    opts: { sizeOnly?: boolean } = {},
  ) {
    super();
    this.hash = opts.sizeOnly ? undefined : hashFor(expected.digest);
  }

  private get knownSize(): number | undefined {
    return this.expected.size !== undefined && this.expected.size >= 0 ? this.expected.size : undefined;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    const size = this.knownSize;
    if (size !== undefined && this.bytes > size) {
      cb(this.mismatch(`more than the expected ${size} bytes`));
      return;
    }
    this.hash?.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const size = this.knownSize;
    if (size !== undefined && this.bytes !== size) {
      cb(this.mismatch(`${this.bytes} bytes instead of ${size}`));
      return;
    }
    if (!this.hash) {
      cb();
      return;
    }
    const alg = this.expected.digest.slice(0, this.expected.digest.indexOf(':'));
    const actual = `${alg}:${this.hash.digest('hex')}`;
    if (actual !== this.expected.digest) {
      cb(this.mismatch(`content has digest ${actual}`));
      return;
    }
    cb();
  }

  private mismatch(why: string): UserError {
    return new UserError(`${this.reference}: digest mismatch for blob ${this.expected.digest}: ${why}`);
  }
}

/** Check a buffer against a descriptor (for manifests and configs, which are read whole). */
export function verifyBytes(bytes: Uint8Array, expected: Expected, reference: string): void {
  if (expected.size !== undefined && expected.size >= 0 && bytes.length !== expected.size) {
    throw new UserError(`${reference}: digest mismatch for blob ${expected.digest}: ${bytes.length} bytes instead of ${expected.size}`);
  }
  const alg = expected.digest.slice(0, expected.digest.indexOf(':'));
  const actual = `${alg}:${hashFor(expected.digest).update(bytes).digest('hex')}`;
  if (actual !== expected.digest) {
    throw new UserError(`${reference}: digest mismatch for blob ${expected.digest}: content has digest ${actual}`);
  }
}
