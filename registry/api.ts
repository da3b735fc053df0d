// pull() and push(): the library face of copying images between the local store and any transport.
import type { Store } from '../cache/store.js';
import type { ImageRecord } from '../cache/images.js';
import { normalizeReference } from '../oci/reference.js';
import { UserError } from '../oci/errors.js';
import type { ManifestFormat, Platform } from '../oci/types.js';
import { copyImage, type CopyProgress } from './copy.js';
import { openDestination, openSource, type OpenContext } from './open.js';
import { storeDestination, storeSource } from './store-transport.js';
import { parseTransportReference } from './transport-ref.js';
import type { TransportReference } from './transport.js';

export interface TransferOptions {
  platform?: Platform;
  format?: ManifestFormat;
  /** Options for docker:// (creds, authfile, tlsVerify, certDir, retries). */
  registry?: Record<string, unknown>;
  /** One human-readable line per blob or manifest copied. */
  onProgress?: (line: string) => void;
}

/** A bare name (no transport) means docker://, as in podman. */
function toTransport(s: string): TransportReference {
  return /^(oci|oci-archive|docker-archive|docker):/.test(s) ? parseTransportReference(s) : parseTransportReference('docker://' + s);
}

function progressLine(ev: CopyProgress): string {
  if (ev.kind === 'manifest') return `Writing manifest ${ev.digest}`;
  const what = `${ev.mediaType.includes('config') ? 'config' : 'blob'} ${ev.digest.slice(7, 19)}`;
  return ev.phase === 'skipped' ? `Copying ${what} skipped: already exists` : ev.phase === 'started' ? `Copying ${what}` : `Copying ${what} done`;
}

/** Names for a pulled image: the registry reference, the archive's RepoTags, or an OCI ref.name that is a full reference. */
function pulledNames(ref: TransportReference, sourceNames: string[] | undefined): string[] {
  if (ref.transport === 'docker') return [normalizeReference(ref.path)];
  const names = [...(sourceNames ?? [])];
  if ((ref.transport === 'oci' || ref.transport === 'oci-archive') && ref.tag && /[/:]/.test(ref.tag)) names.push(ref.tag);
  const out: string[] = [];
  for (const n of names) {
    try {
      out.push(normalizeReference(n));
    } catch {
      /* not a usable name: the image stays reachable by ID */
    }
  }
  return [...new Set(out)];
}

function openContext(store: Store, opts: TransferOptions): OpenContext {
  return { tmpDir: store.tmp, platform: opts.platform, registry: opts.registry };
}

export async function pullImage(store: Store, source: string, opts: TransferOptions = {}): Promise<{ record: ImageRecord }> {
  const ref = toTransport(source);
  const src = await openSource(ref, openContext(store, opts));
  try {
    const dest = storeDestination(store, pulledNames(ref, src.names));
    await copyImage(src, dest, { platform: opts.platform, onProgress: opts.onProgress ? (ev) => opts.onProgress!(progressLine(ev)) : undefined });
    return { record: dest.record() };
  } finally {
    await src.close();
  }
}

export async function pushImage(store: Store, image: ImageRecord, destination: string, opts: TransferOptions = {}): Promise<{ manifestDigest: string }> {
  let ref: TransportReference;
  try {
    ref = toTransport(destination);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`invalid destination "${destination}"`);
  }
  const dest = await openDestination(ref, openContext(store, opts));
  try {
    const result = await copyImage(storeSource(store, image), dest, { format: opts.format, onProgress: opts.onProgress ? (ev) => opts.onProgress!(progressLine(ev)) : undefined });
    return { manifestDigest: result.manifestDigest };
  } finally {
    await dest.close();
  }
}
