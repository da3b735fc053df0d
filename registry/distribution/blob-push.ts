// Pushing one blob: skip it when the registry has it (HEAD), mount it from a sibling repository
// when we know one holds it, else upload: monolithic (POST, then PUT ?digest= with the bytes) when
// it fits in one chunk, chunked (PATCH per chunk, then PUT ?digest=) otherwise. Each request body is
// an in-memory chunk (the buffers as read, not copied into one) so a failed request can be retried
// without re-reading the source stream.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { UserError } from '../../oci/errors.js';
import type { Descriptor } from '../../oci/types.js';
import { mountCandidates, recordBlobLocation } from './blob-locations.js';
import type { RegistryClient } from './client.js';
import { short } from './blob-pull.js';

export const DEFAULT_CHUNK_SIZE = 16 << 20;

export type PushResult = 'exists' | 'mounted' | 'uploaded';

export async function blobExists(client: RegistryClient, digest: string): Promise<boolean> {
  const res = await client.send({ method: 'HEAD', url: `/v2/${client.repository}/blobs/${digest}`, ok: [200, 404], what: `checking blob ${short(digest)}` });
  await res.body.dump();
  return res.statusCode === 200;
}

export interface PushBlobOptions {
  /** Blobs bigger than this go up in PATCH requests of this size (default 16 MiB). */
  chunkSize?: number;
  /** The content is verified against `desc` upstream (see PutBlobOptions): no second hash here. */
  verified?: boolean;
}

export async function pushBlob(client: RegistryClient, desc: Descriptor, content: Readable, opts: PushBlobOptions = {}): Promise<PushResult> {
  const { reference, onProgress, registry } = client.config;
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (await blobExists(client, desc.digest)) {
    content.destroy();
    onProgress?.({ type: 'blob-skipped', reference, digest: desc.digest, size: desc.size });
    recordBlobLocation(registry, client.repository, desc.digest);
    return 'exists';
  }
  let location: string | undefined;
  for (const from of mountCandidates(registry, client.repository, desc.digest)) {
    const res = await client.send({
      method: 'POST',
      url: `/v2/${client.repository}/blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(from)}`,
      scopes: [...client.defaultScopes(), `repository:${from}:pull`],
      ok: [201, 202],
      what: `mounting blob ${short(desc.digest)}`,
    });
    await res.body.dump();
    if (res.statusCode === 201) {
      content.destroy();
      onProgress?.({ type: 'blob-mounted', reference, digest: desc.digest, from });
      recordBlobLocation(registry, client.repository, desc.digest);
      return 'mounted';
    }
    // 202: the registry could not mount (no access to `from`) and opened a normal upload instead.
    location = header(res.headers.location);
    if (location) break;
  }
  location ??= await startUpload(client, desc.digest);

  const hash = opts.verified ? undefined : createHash('sha256');
  let sent = 0;
  let finalBody: Chunk = { parts: [], length: 0 };
  const chunks = chunksOf(content, chunkSize)[Symbol.asyncIterator]();
  // The next chunk is read while the current one is on its way; at most two are held (a failed
  // request is sent again from the chunk it holds).
  let pending = chunks.next();
  try {
    for (let cur = await pending; !cur.done; cur = await pending) {
      const chunk = cur.value;
      pending = chunks.next();
      if (hash) for (const p of chunk.parts) hash.update(p);
      checkSize(sent + chunk.length, desc, reference);
      if (sent === 0 && chunk.length < chunkSize) {
        // The whole blob is one chunk (a short one is the last): send it with the closing PUT.
        finalBody = chunk;
      } else {
        const res = await client.send({
          method: 'PATCH', url: location,
          headers: { 'content-type': 'application/octet-stream', 'content-range': `${sent}-${sent + chunk.length - 1}`, 'content-length': String(chunk.length) },
          body: chunk.parts, ok: [202], what: `uploading blob ${short(desc.digest)}`,
        });
        await res.body.dump();
        location = header(res.headers.location) ?? location;
      }
      sent += chunk.length;
      onProgress?.({ type: 'blob-progress', reference, digest: desc.digest, done: sent, total: desc.size, direction: 'push' });
    }
  } catch (e) {
    // A failed request leaves the read-ahead running: it must not turn into an unhandled rejection.
    pending.catch(() => undefined);
    content.destroy();
    throw e;
  }
  const got = hash ? 'sha256:' + hash.digest('hex') : desc.digest;
  if (sent !== desc.size || got !== desc.digest) {
    await cancelUpload(client, location);
    throw new UserError(`pushing blob to ${reference}: content does not match its descriptor (expected ${desc.digest}, ${desc.size} bytes; got ${hash ? got + ', ' : ''}${sent} bytes)`);
  }
  const put = client.resolve(location);
  put.searchParams.set('digest', desc.digest);
  const res = await client.send({
    method: 'PUT', url: put.toString(),
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(finalBody.length) },
    body: finalBody.parts, ok: [201, 204], what: `uploading blob ${short(desc.digest)}`,
  });
  await res.body.dump();
  recordBlobLocation(registry, client.repository, desc.digest);
  onProgress?.({ type: 'blob-done', reference, digest: desc.digest, size: desc.size, direction: 'push' });
  return 'uploaded';
}

async function startUpload(client: RegistryClient, digest: string): Promise<string> {
  const res = await client.send({ method: 'POST', url: `/v2/${client.repository}/blobs/uploads/`, headers: { 'content-length': '0' }, ok: [202], what: `starting upload of blob ${short(digest)}` });
  await res.body.dump();
  const loc = header(res.headers.location);
  if (!loc) throw new UserError(`pushing blob to ${client.reference}: registry started an upload without a Location`);
  return loc;
}

async function cancelUpload(client: RegistryClient, location: string): Promise<void> {
  try {
    const res = await client.send({ method: 'DELETE', url: location, ok: [200, 202, 204, 404], what: 'cancelling upload' });
    await res.body.dump();
  } catch {
    /* best effort: the registry expires abandoned uploads itself */
  }
}

function checkSize(n: number, desc: Descriptor, reference: string): void {
  if (n > desc.size) throw new UserError(`pushing blob to ${reference}: ${desc.digest} is larger than its descriptor's ${desc.size} bytes`);
}

/** Up to one chunk of a blob, as the buffers it was read in (sent as they are, never joined). */
interface Chunk {
  parts: Buffer[];
  length: number;
}

/** Re-chunk a byte stream into chunks of exactly `size` bytes (the last may be shorter). */
async function* chunksOf(stream: Readable, size: number): AsyncGenerator<Chunk> {
  let parts: Buffer[] = [];
  let have = 0;
  for await (const data of stream as AsyncIterable<Buffer | string>) {
    let buf = typeof data === 'string' ? Buffer.from(data) : data;
    while (buf.length > 0) {
      const take = Math.min(size - have, buf.length);
      parts.push(take === buf.length ? buf : buf.subarray(0, take));
      have += take;
      buf = buf.subarray(take);
      if (have === size) {
        yield { parts, length: have };
        parts = [];
        have = 0;
      }
    }
  }
  if (have > 0) yield { parts, length: have };
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
