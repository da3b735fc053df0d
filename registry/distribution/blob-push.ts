// Pushing one blob: skip it when the registry has it (HEAD), mount it from a sibling repository
// when we know one holds it, else upload (POST opens the upload, PUT ?digest= closes it):
//  - up to 16 MiB: in one request, the closing PUT carrying the bytes from memory;
//  - bigger: in one streaming PATCH, as buildah does. Each PATCH costs a registry more than its
//    bytes (docker/distribution syncs its hash state to disk per request, and with it the data
//    written so far): 16 MiB chunks made a 600 MB push take twice as long. A stream cannot be
//    sent again, so a failed one is retried from the start of the content read anew (`reopen`);
//  - with an explicit chunkSize: PATCH requests of that size, each held in memory (the buffers as
//    read, not copied into one) so a failed request is sent again.
import type { Hash } from 'node:crypto';
import { createHash } from '../../oci/crypto.js';
import { finished, Transform, type Readable, type TransformCallback } from 'node:stream';
import { UserError } from '../../oci/errors.js';
import type { Descriptor } from '../../oci/types.js';
import { RetryableStatus, type RegistryClient } from './client.js';
import type { HttpResponse } from './http.js';
import { short } from './blob-pull.js';
import { describeNetworkError, isRetryableNetworkError, readErrorBody, statusText } from './errors.js';
import { backoffDelay, sleep } from './retry.js';

/** Blobs up to this size go up in one request from memory. */
export const SINGLE_REQUEST_MAX = 16 << 20;

export type PushResult = 'exists' | 'mounted' | 'uploaded';

export async function blobExists(client: RegistryClient, digest: string): Promise<boolean> {
  const res = await client.send({ method: 'HEAD', url: `/v2/${client.repository}/blobs/${digest}`, ok: [200, 404], what: `checking blob ${short(digest)}` });
  await res.body.dump();
  return res.statusCode === 200;
}

export interface PushBlobOptions {
  /** Upload bigger blobs in PATCH requests of this size, each held in memory (default: one stream). */
  chunkSize?: number;
  /** Blobs up to this size go up in one request from memory (default 16 MiB, or chunkSize). */
  singleRequestMax?: number;
  /** The content is verified against `desc` upstream (see PutBlobOptions): no second hash here. */
  verified?: boolean;
  /** The content again from its start: lets a failed streaming upload be retried. */
  reopen?: () => Promise<Readable>;
  /** The caller's HEAD just said the registry lacks the blob: not asked again. */
  absent?: boolean;
}

export async function pushBlob(client: RegistryClient, desc: Descriptor, content: Readable, opts: PushBlobOptions = {}): Promise<PushResult> {
  const { reference, onProgress, registry } = client.config;
  if (!opts.absent && (await blobExists(client, desc.digest))) {
    content.destroy();
    onProgress?.({ type: 'blob-skipped', reference, digest: desc.digest, size: desc.size });
    client.blobLocations.record(registry, client.repository, desc.digest);
    return 'exists';
  }
  let location: string | undefined;
  for (const from of await client.blobLocations.mountCandidates(registry, client.repository, desc.digest)) {
    let res;
    try {
      res = await client.send({
        method: 'POST',
        url: `/v2/${client.repository}/blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(from)}`,
        scopes: [...client.defaultScopes(), `repository:${from}:pull`],
        ok: [201, 202, 401, 403, 404],
        what: `mounting blob ${short(desc.digest)}`,
      });
    } catch {
      // A mount is an optimisation: whatever went wrong (a token server refusing the extra scope,
      // the network), the upload below says what is really the matter, if anything.
      continue;
    }
    await res.body.dump();
    if (res.statusCode === 401 || res.statusCode === 403 || res.statusCode === 404) {
      // Seen there long ago, under other credentials, or gone since: not offered again.
      client.blobLocations.forget(registry, from, desc.digest);
      continue;
    }
    if (res.statusCode === 201) {
      content.destroy();
      onProgress?.({ type: 'blob-mounted', reference, digest: desc.digest, from });
      client.blobLocations.record(registry, client.repository, desc.digest);
      return 'mounted';
    }
    // 202: the registry could not mount (no access to `from`) and opened a normal upload instead.
    location = header(res.headers.location);
    if (location) break;
  }
  location ??= await startUpload(client, desc.digest);
  const single = opts.singleRequestMax ?? opts.chunkSize ?? SINGLE_REQUEST_MAX;
  if (opts.chunkSize === undefined && desc.size > single) await streamUpload(client, desc, location, content, opts);
  else await chunkedUpload(client, desc, location, content, opts.chunkSize ?? single, Boolean(opts.verified));
  client.blobLocations.record(registry, client.repository, desc.digest);
  onProgress?.({ type: 'blob-done', reference, digest: desc.digest, size: desc.size, direction: 'push' });
  return 'uploaded';
}

/** The content in requests of `chunkSize` (one request when it is no bigger), then the closing PUT. */
async function chunkedUpload(client: RegistryClient, desc: Descriptor, location: string, content: Readable, chunkSize: number, verified: boolean): Promise<void> {
  const { reference, onProgress } = client.config;
  const hash = verified ? undefined : createHash('sha256');
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
    body: finalBody.parts, ok: [201, 204, 400], what: `uploading blob ${short(desc.digest)}`,
  });
  await closed(res, client, desc, `uploading blob ${short(desc.digest)}`);
}

/**
 * The closing PUT's answer. A 400 DIGEST_INVALID means what was sent is not what its digest names:
 * the copy being pushed is damaged (the source's own digest check is left to the registry, see
 * ImageDestination.checksDigests).
 */
async function closed(res: HttpResponse, client: RegistryClient, desc: Descriptor, what: string): Promise<void> {
  const { reference } = client.config;
  if (res.statusCode !== 400) return res.body.dump();
  const detail = await readErrorBody(res);
  if (/^DIGEST_INVALID/.test(detail)) throw new UserError(`${reference}: blob ${desc.digest} does not match its digest (digest mismatch, found by the registry): the local copy is damaged`);
  throw new UserError(`${what} for ${reference}: ${statusText(400)}${detail ? ` (${detail})` : ''}`);
}

/**
 * The content in one streaming PATCH, then the closing PUT. A failure worth retrying (a dropped
 * connection, a 5xx) starts a new upload with the content read again, when it can be (`reopen`).
 */
async function streamUpload(client: RegistryClient, desc: Descriptor, location: string, content: Readable, opts: PushBlobOptions): Promise<void> {
  const { reference, onProgress, retry } = client.config;
  const what = `uploading blob ${short(desc.digest)}`;
  for (let attempt = 0; ; attempt++) {
    const counter = new UploadCounter(desc, reference, opts.verified ? undefined : createHash('sha256'), (done) =>
      onProgress?.({ type: 'blob-progress', reference, digest: desc.digest, done, total: desc.size, direction: 'push' }),
    );
    // finished() also reports content that failed before now (a bad digest found while the upload
    // was being opened): the request must fail with that error, not wait for bytes.
    let contentError: Error | undefined;
    finished(content, { writable: false }, (e) => {
      if (!e) return;
      contentError = e;
      counter.destroy(e);
    });
    content.pipe(counter);
    try {
      const res = await client.send({
        method: 'PATCH', url: location,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
        body: counter, ok: [202], what,
      });
      await res.body.dump();
      location = header(res.headers.location) ?? location;
      counter.check();
      break;
    } catch (e) {
      content.destroy();
      counter.destroy();
      if (contentError) {
        // The content's own failure (a digest mismatch, a read error): the source's to report.
        await cancelUpload(client, location);
        throw contentError;
      }
      const retryable = !(e instanceof UserError) && (e instanceof RetryableStatus || isRetryableNetworkError(e));
      if (!retryable || !opts.reopen || attempt >= retry.retries) {
        await cancelUpload(client, location);
        throw client.finalError(what, e, attempt + 1);
      }
      const delay = backoffDelay(retry, attempt, e instanceof RetryableStatus ? e.retryAfter : undefined);
      onProgress?.({ type: 'retry', reference, what, attempt: attempt + 1, delayMs: Math.round(delay), reason: e instanceof RetryableStatus ? `status ${e.status}` : describeNetworkError(e) });
      void cancelUpload(client, location);
      await sleep(delay);
      content = await opts.reopen();
      location = await startUpload(client, desc.digest);
    }
  }
  const put = client.resolve(location);
  put.searchParams.set('digest', desc.digest);
  const res = await client.send({ method: 'PUT', url: put.toString(), headers: { 'content-length': '0' }, ok: [201, 204, 400], what });
  await closed(res, client, desc, what);
}

/** Counts (and, unless verified upstream, hashes) what is streamed; fails it when it outgrows `desc`. */
class UploadCounter extends Transform {
  private bytes = 0;
  private reported = 0;

  constructor(
    private readonly desc: Descriptor,
    private readonly reference: string,
    private readonly hash: Hash | undefined,
    private readonly progress: (done: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.desc.size) {
      cb(this.mismatch());
      return;
    }
    this.hash?.update(chunk);
    if (this.bytes - this.reported >= SINGLE_REQUEST_MAX) {
      this.reported = this.bytes;
      this.progress(this.bytes);
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    // Short content must not reach the registry as a request cut short: fail it here.
    cb(this.bytes === this.desc.size ? null : this.mismatch());
  }

  /** After the registry took it all: the digest, when we hashed. */
  check(): void {
    if (this.hash && 'sha256:' + this.hash.digest('hex') !== this.desc.digest) throw this.mismatch();
  }

  private mismatch(): UserError {
    return new UserError(`pushing blob to ${this.reference}: content does not match its descriptor (expected ${this.desc.digest}, ${this.desc.size} bytes)`);
  }
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
