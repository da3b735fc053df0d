// Options of the docker:// transport, and turning them plus registries.conf into clients.
import type { Platform } from '../../oci/types.js';
import { parseReference, formatReference, type ImageReference } from '../../oci/reference.js';
import { UserError } from '../../oci/errors.js';
import { lookupCredentials } from '../auth/credentials.js';
import type { TransportReference } from '../transport.js';
import type { Endpoint } from '../registries-conf.js';
import { BlobLocations } from './blob-locations.js';
import { RegistryClient } from './client.js';
import type { ProgressEvent } from './progress.js';
import { DEFAULT_RETRY } from './retry.js';

export interface RegistryOptions {
  /** "user:pass"; beats every auth file. */
  creds?: string;
  authfile?: string;
  /** Directory of *.crt CAs (and *.cert/*.key client pairs), used instead of certs.d. */
  certDir?: string;
  /** false: allow http and skip TLS verification. Unset: registries.conf `insecure` decides. */
  tlsVerify?: boolean;
  /** Retries after the first attempt for 429/5xx/connection resets (default 3). */
  retries?: number;
  /** Which image of an index/manifest list to pull (default linux + this machine's arch). */
  platform?: Platform;
  /** registries.conf to use instead of the default lookup. */
  registriesConf?: string;
  onProgress?: (ev: ProgressEvent) => void;
  // ---- beyond the issue's list (tests and tuning)
  /** certs.d roots searched per host (default /etc/containers/certs.d, /etc/docker/certs.d, ~/.config/containers/certs.d). */
  perHostCertDirs?: string[];
  /** Upload blobs bigger than 16 MiB in PATCH requests of this size, each held in memory so a failed one is sent again (default: one streaming PATCH, retried from a fresh read of the blob). */
  chunkSize?: number;
  /** Blobs up to this size are uploaded in one request from memory (default 16 MiB, or chunkSize). */
  singleRequestMax?: number;
  /** First retry delay in ms, doubling each time (default 200). */
  retryDelayMs?: number;
  /** Blobs uploaded at once by one destination (default 3). */
  concurrency?: number;
  /**
   * A file remembering which repositories of a registry hold which blobs, across processes
   * (containers/image's blob info cache): a push mounts a blob from another repository instead of
   * uploading it. pull() and push() through a store use `<store>/blob-info-cache.json`; without
   * one, only this process's pulls and pushes are remembered.
   */
  blobInfoCache?: string;
}

export interface ParsedDockerRef {
  ref: ImageReference;
  /** "docker://host/repo:tag", for messages. */
  text: string;
}

/** TransportReference.path for docker is "//host/repo:tag" or "host/repo:tag"; `tag` may add a tag. */
export function parseDockerReference(tr: TransportReference): ParsedDockerRef {
  const raw = tr.path.replace(/^\/\//, '');
  let ref: ImageReference;
  try {
    ref = parseReference(raw, { defaultTag: false });
  } catch (e) {
    throw new UserError(`${tr.raw}: ${(e as Error).message}`);
  }
  if (!ref.tag && !ref.digest) ref = { ...ref, tag: tr.tag ?? 'latest' };
  return { ref, text: `docker://${formatReference(ref)}` };
}

export async function clientFor(ep: Endpoint, text: string, opts: RegistryOptions, push: boolean): Promise<RegistryClient> {
  const insecure = opts.tlsVerify === undefined ? ep.insecure : !opts.tlsVerify;
  const creds = await lookupCredentials(ep.registry, ep.repository, { creds: opts.creds, authfile: opts.authfile });
  return RegistryClient.create({
    registry: ep.registry,
    repository: ep.repository,
    reference: text,
    insecure,
    certDir: opts.certDir,
    perHostCertDirs: opts.perHostCertDirs,
    creds,
    retry: { ...DEFAULT_RETRY, retries: opts.retries ?? DEFAULT_RETRY.retries, baseDelayMs: opts.retryDelayMs ?? DEFAULT_RETRY.baseDelayMs },
    push,
    onProgress: opts.onProgress,
    blobLocations: BlobLocations.for(opts.blobInfoCache),
  });
}
