// Pushing one blob: skip it when the registry has it (HEAD), mount it from a sibling repository
// when we know one holds it, else upload: monolithic (POST, then PUT ?digest= with the bytes) when
// it fits in one chunk, chunked (PATCH per chunk, then PUT ?digest=) otherwise. Each request body is
// an in-memory chunk so a failed request can be retried without re-reading the source stream.
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

export async function pushBlob(client: RegistryClient, desc: Descriptor, content: Readable, chunkSize = DEFAULT_CHUNK_SIZE): Promise<PushResult> {
  const { reference, onProgress, registry } = client.config;
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

  const hash = createHash('sha256');
  let sent = 0;
  const it = chunksOf(content, chunkSize)[Symbol.asyncIterator]();
  let cur = await it.next();
  let finalBody: Buffer | undefined;
  if (cur.done) finalBody = Buffer.alloc(0);
  while (!cur.done) {
    const chunk = cur.value;
    const next = await it.next();
    hash.update(chunk);
    checkSize(sent + chunk.length, desc, reference);
    if (next.done && sent === 0) {
      // The whole blob is one chunk: send it with the closing PUT (one request, not two).
      finalBody = chunk;
    } else {
      const res = await client.send({
        method: 'PATCH', url: location,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${sent}-${sent + chunk.length - 1}`, 'content-length': String(chunk.length) },
        body: chunk, ok: [202], what: `uploading blob ${short(desc.digest)}`,
      });
      await res.body.dump();
      location = header(res.headers.location) ?? location;
    }
    sent += chunk.length;
    onProgress?.({ type: 'blob-progress', reference, digest: desc.digest, done: sent, total: desc.size, direction: 'push' });
    cur = next;
  }
  const got = 'sha256:' + hash.digest('hex');
  if (sent !== desc.size || got !== desc.digest) {
    await cancelUpload(client, location);
    throw new UserError(`pushing blob to ${reference}: content does not match its descriptor (expected ${desc.digest}, ${desc.size} bytes; got ${got}, ${sent} bytes)`);
  }
  const put = client.resolve(location);
  put.searchParams.set('digest', desc.digest);
  const body = finalBody ?? Buffer.alloc(0);
  const res = await client.send({
    method: 'PUT', url: put.toString(),
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length) },
    body, ok: [201, 204], what: `uploading blob ${short(desc.digest)}`,
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

/** Re-chunk a byte stream into buffers of exactly `size` bytes (the last may be shorter). */
async function* chunksOf(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let have = 0;
  for await (const data of stream as AsyncIterable<Buffer | string>) {
    let buf = typeof data === 'string' ? Buffer.from(data) : data;
    while (buf.length > 0) {
      const take = Math.min(size - have, buf.length);
      parts.push(buf.subarray(0, take));
      have += take;
      buf = buf.subarray(take);
      if (have === size) {
        yield Buffer.concat(parts);
        parts = [];
        have = 0;
      }
    }
  }
  if (have > 0) yield Buffer.concat(parts);
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
