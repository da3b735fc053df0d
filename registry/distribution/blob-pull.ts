// Streaming a blob out of the registry. The stream hashes as it goes and ends with an error
// (never a clean end) when the size or digest is wrong, so a consumer that commits on 'end'
// cannot commit bad bytes. A connection dropped mid-blob is resumed with a Range request.
import { createHash } from '../../oci/crypto.js';
import { Readable } from 'node:stream';
import { UserError } from '../../oci/errors.js';
import type { Descriptor } from '../../oci/types.js';
import type { RegistryClient } from './client.js';
import { describeNetworkError, isRetryableNetworkError } from './errors.js';
import { backoffDelay, sleep } from './retry.js';

export function pullBlob(client: RegistryClient, desc: Descriptor): Readable {
  return Readable.from(blobChunks(client, desc), { objectMode: false });
}

async function* blobChunks(client: RegistryClient, desc: Descriptor): AsyncGenerator<Buffer> {
  const { reference, onProgress, retry } = client.config;
  const hash = createHash('sha256');
  let offset = 0;
  let drops = 0;
  for (;;) {
    const headers: Record<string, string> = {};
    if (offset > 0) headers.range = `bytes=${offset}-`;
    const res = await client.send({ method: 'GET', url: `/v2/${client.repository}/blobs/${desc.digest}`, headers, ok: [200, 206], what: `fetching blob ${short(desc.digest)}` });
    // A server that ignores Range sends everything again: skip what we already have.
    let skip = offset > 0 && res.statusCode === 200 ? offset : 0;
    if (offset > 0 && res.statusCode === 206) onProgress?.({ type: 'blob-resumed', reference, digest: desc.digest, offset });
    try {
      for await (const raw of res.body as AsyncIterable<Buffer>) {
        let chunk = raw;
        if (skip > 0) {
          if (chunk.length <= skip) {
            skip -= chunk.length;
            continue;
          }
          chunk = chunk.subarray(skip);
          skip = 0;
        }
        offset += chunk.length;
        if (offset > desc.size) {
          res.body.destroy();
          throw new UserError(`fetching blob ${desc.digest} for ${reference}: registry sent more than the expected ${desc.size} bytes`);
        }
        hash.update(chunk);
        onProgress?.({ type: 'blob-progress', reference, digest: desc.digest, done: offset, total: desc.size, direction: 'pull' });
        yield chunk;
      }
      break;
    } catch (e) {
      if (e instanceof UserError) throw e;
      if (!isRetryableNetworkError(e)) throw client.finalError(`fetching blob ${short(desc.digest)}`, e, drops + 1);
      if (drops >= retry.retries) throw client.finalError(`fetching blob ${short(desc.digest)}`, e, drops + 1);
      const delay = backoffDelay(retry, drops);
      drops++;
      onProgress?.({ type: 'retry', reference, what: `fetching blob ${short(desc.digest)}`, attempt: drops, delayMs: Math.round(delay), reason: describeNetworkError(e) });
      await sleep(delay);
    }
  }
  if (offset !== desc.size) {
    throw new UserError(`fetching blob ${desc.digest} for ${reference}: size mismatch (expected ${desc.size} bytes, got ${offset})`);
  }
  const got = 'sha256:' + hash.digest('hex');
  if (got !== desc.digest) throw new UserError(`fetching blob for ${reference}: digest mismatch (expected ${desc.digest}, got ${got})`);
  onProgress?.({ type: 'blob-done', reference, digest: desc.digest, size: desc.size, direction: 'pull' });
}

export function short(digest: string): string {
  return digest.slice(0, 'sha256:'.length + 12);
}
