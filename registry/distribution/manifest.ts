// Fetching and pushing manifests. Everything we hand back is checked against its digest: the one
// in the reference, the index entry, or the registry's Docker-Content-Digest header.
import { sha256 } from '../../oci/digest.js';
import { UserError } from '../../oci/errors.js';
import {
  DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED, OCI_INDEX, OCI_MANIFEST, isIndexMediaType,
} from '../../oci/mediatypes.js';
import type { ImageIndex, Platform } from '../../oci/types.js';
import type { ManifestBytes } from '../transport.js';
import type { RegistryClient } from './client.js';
import { describeNetworkError, isRetryableNetworkError } from './errors.js';
import { backoffDelay, sleep } from './retry.js';
import { selectManifest } from './platform.js';

export const MANIFEST_ACCEPT = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST].join(', ');
/** A manifest bigger than this is hostile or broken (containers/image uses 4 MiB too). */
const MAX_MANIFEST = 4 << 20;

/** GET one manifest by tag or digest, exactly as stored; schema 1 is refused here. */
export async function fetchManifest(client: RegistryClient, tagOrDigest: string): Promise<ManifestBytes> {
  // send() retries until the headers arrive; a connection cut in the body is retried here (it
  // used to escape as an internal error: "other side closed").
  let res: Awaited<ReturnType<RegistryClient['send']>>;
  let bytes: Buffer;
  for (let drops = 0; ; drops++) {
    res = await client.send({
      method: 'GET', url: `/v2/${client.repository}/manifests/${tagOrDigest}`, headers: { accept: MANIFEST_ACCEPT }, ok: [200], what: 'fetching manifest',
    });
    const declared = Number(res.headers['content-length'] ?? 0);
    if (declared > MAX_MANIFEST) {
      await res.body.dump();
      throw new UserError(`fetching manifest for ${client.reference}: manifest is ${declared} bytes, more than the 4 MiB limit`);
    }
    try {
      bytes = Buffer.from(await res.body.arrayBuffer());
      break;
    } catch (e) {
      const retry = client.config.retry;
      if (!isRetryableNetworkError(e) || drops >= retry.retries) throw client.finalError('fetching manifest', e, drops + 1);
      const delay = backoffDelay(retry, drops);
      client.config.onProgress?.({ type: 'retry', reference: client.reference, what: 'fetching manifest', attempt: drops + 1, delayMs: Math.round(delay), reason: describeNetworkError(e) });
      await sleep(delay);
    }
  }
  if (bytes.length > MAX_MANIFEST) throw new UserError(`fetching manifest for ${client.reference}: manifest is more than the 4 MiB limit`);
  const digest = sha256(bytes);
  const expected = tagOrDigest.includes(':') ? tagOrDigest : headerDigest(res.headers['docker-content-digest']);
  if (expected && expected !== digest) {
    throw new UserError(`fetching manifest for ${client.reference}: digest mismatch (expected ${expected}, got ${digest})`);
  }
  const mediaType = manifestMediaType(res.headers['content-type'], bytes, client.reference);
  return { bytes, mediaType, digest };
}

/** Resolve a reference to an image manifest, descending through an index for `platform`. */
export async function resolveImageManifest(client: RegistryClient, tagOrDigest: string, platform: Platform): Promise<ManifestBytes> {
  const top = await fetchManifest(client, tagOrDigest);
  if (!isIndexMediaType(top.mediaType)) return top;
  const index = JSON.parse(top.bytes.toString('utf8')) as ImageIndex;
  const entry = selectManifest(index, platform, client.reference);
  const child = await fetchManifest(client, entry.digest);
  if (isIndexMediaType(child.mediaType)) throw new UserError(`${client.reference}: nested manifest lists are not supported`);
  return child;
}

/** The digest of the manifest a tag (or digest) names on the registry, by HEAD; undefined when none. */
export async function manifestDigestAt(client: RegistryClient, tagOrDigest: string): Promise<string | undefined> {
  const res = await client.send({
    method: 'HEAD', url: `/v2/${client.repository}/manifests/${tagOrDigest}`, headers: { accept: MANIFEST_ACCEPT }, ok: [200, 404], what: 'checking manifest',
  });
  await res.body.dump();
  return res.statusCode === 200 ? headerDigest(res.headers['docker-content-digest']) : undefined;
}

export async function pushManifest(client: RegistryClient, tagOrDigest: string, m: ManifestBytes): Promise<void> {
  // A manifest corrupted on the way can still be JSON the registry accepts (a flipped byte in a key
  // or a media type), and a PUT by tag stores it under the tag before the answer tells us. So a
  // wrong stored digest is put again — that overwrites the tag — like any transient failure; when
  // the retries run out, the corrupted manifest is deleted (best effort) rather than left tagged.
  const attempts = client.config.retry.retries + 1;
  for (let attempt = 1; ; attempt++) {
    const res = await client.send({
      method: 'PUT', url: `/v2/${client.repository}/manifests/${tagOrDigest}`, headers: { 'content-type': m.mediaType }, body: m.bytes, ok: [200, 201, 202], what: 'pushing manifest',
    });
    await res.body.dump();
    const got = headerDigest(res.headers['docker-content-digest']);
    if (!got || got === m.digest) return;
    if (attempt < attempts) {
      client.config.onProgress?.({ type: 'retry', reference: client.reference, what: 'pushing manifest', attempt, delayMs: 0, reason: `registry stored digest ${got}` });
      continue;
    }
    await client
      .send({ method: 'DELETE', url: `/v2/${client.repository}/manifests/${got}`, ok: [200, 202, 404], what: 'deleting a corrupted manifest' })
      .then((r) => r.body.dump())
      .catch(() => undefined);
    throw new UserError(`pushing manifest for ${client.reference}: registry stored digest ${got}, expected ${m.digest}${attempts > 1 ? ` after ${attempts} attempts` : ''}`);
  }
}

function headerDigest(h: string | string[] | undefined): string | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  // Only sha256 is computed here; another algorithm cannot be compared, so it is not trusted either.
  return v && v.startsWith('sha256:') ? v.trim() : undefined;
}

/** The media type from Content-Type, else from the JSON itself; schema 1 is refused. */
function manifestMediaType(contentType: string | string[] | undefined, bytes: Buffer, reference: string): string {
  let ct = (Array.isArray(contentType) ? contentType[0] : contentType)?.split(';')[0].trim();
  let parsed: { schemaVersion?: number; mediaType?: string; manifests?: unknown; config?: unknown };
  try {
    parsed = JSON.parse(bytes.toString('utf8')) as typeof parsed;
  } catch {
    throw new UserError(`fetching manifest for ${reference}: the registry returned a manifest that is not JSON`);
  }
  if (ct === DOCKER_SCHEMA1 || ct === DOCKER_SCHEMA1_SIGNED || parsed.schemaVersion === 1) {
    throw new UserError(`${reference}: schema 1 manifests are not supported (re-push the image with a current client)`);
  }
  if (!ct || ct === 'application/json' || ct === 'text/plain' || ct === 'application/octet-stream') {
    ct = parsed.mediaType ?? (parsed.manifests ? OCI_INDEX : parsed.config ? OCI_MANIFEST : undefined);
  }
  if (!ct || ![OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST].includes(ct)) {
    throw new UserError(`fetching manifest for ${reference}: unsupported manifest type ${JSON.stringify(ct ?? 'unknown')}`);
  }
  return ct;
}
