// pull() and push(): the library face of copying images between the local store and any transport.
import { join } from 'node:path';
import type { Store } from '../cache/store.js';
import type { ImageRecord } from '../cache/images.js';
import { formatReference, normalizeReference, parseReference } from '../oci/reference.js';
import { interruptible, UserError } from '../oci/errors.js';
import type { ManifestFormat, Platform } from '../oci/types.js';
import { readAuthFile, writeAuthFile } from './auth/authfile.js';
import { defaultAuthFile } from './auth/credentials.js';
import { copyImage, type CopyProgress } from './copy.js';
import type { RegistryOptions } from './distribution/options.js';
import { loadRegistriesConf, resolveShortName } from './registries-conf.js';
import { openDestination, openSource, type OpenContext } from './open.js';
import { storeDestination, storeSource } from './store-transport.js';
import { parseTransportReference } from './transport-ref.js';
import type { ImageDestination, ImageSource, TransportReference } from './transport.js';
import type { TransferEvent } from '../builder/events.js';

export interface TransferOptions {
  platform?: Platform;
  format?: ManifestFormat;
  /** Options for docker:// (creds, authfile, tlsVerify, certDir, retries, registriesConf). */
  registry?: RegistryOptions;
  /** One human-readable line per blob or manifest copied. */
  onProgress?: (line: string) => void;
  /** The same progress as typed events, with byte counts (what the CLI's progress bars draw). */
  onEvent?: (ev: TransferEvent) => void;
  /**
   * Stops the copy: blobs on their way are cut off, nothing more is started, no manifest or tag is
   * written; the call rejects with a UserError whose exitCode is 130.
   */
  signal?: AbortSignal;
}

/** copy.ts's progress as the public TransferEvent shape (builder/events.ts). */
function toTransferEvent(ev: CopyProgress): TransferEvent {
  if (ev.kind === 'manifest') return { type: 'manifest', digest: ev.digest, mediaType: ev.mediaType, ...(ev.unchanged ? { unchanged: true } : {}) };
  const bytes = ev.bytes ?? (ev.phase === 'started' ? 0 : ev.size);
  return { type: 'blob', phase: ev.phase, digest: ev.digest, size: ev.size, bytes, mediaType: ev.mediaType };
}

/** Where copyImage's progress goes: the line callback (no byte ticks), the event callback, or both. */
function copyProgress(opts: TransferOptions): ((ev: CopyProgress) => void) | undefined {
  if (!opts.onProgress && !opts.onEvent) return undefined;
  return (ev) => {
    if (opts.onProgress && !(ev.kind === 'blob' && ev.phase === 'progress')) opts.onProgress(progressLine(ev));
    opts.onEvent?.(toTransferEvent(ev));
  };
}

const TRANSPORT = /^(oci|oci-archive|docker-archive|docker):/;

/** A bare name (no transport) means docker://, as in podman. */
function toTransport(s: string): TransportReference {
  return TRANSPORT.test(s) ? parseTransportReference(s) : parseTransportReference('docker://' + s);
}

function progressLine(ev: CopyProgress): string {
  if (ev.kind === 'manifest') return ev.unchanged ? `Manifest ${ev.digest} already there: not written again` : `Writing manifest ${ev.digest}`;
  const what = `${ev.mediaType.includes('config') ? 'config' : 'blob'} ${ev.digest.slice(7, 19)}`;
  return ev.phase === 'skipped' ? `Copying ${what} skipped: already exists` : ev.phase === 'started' ? `Copying ${what}` : `Copying ${what} done`;
}

/** Names for a pulled image: the registry reference, the archive's RepoTags, or an OCI ref.name that is a full reference. */
function pulledNames(ref: TransportReference, sourceNames: string[] | undefined): string[] {
  if (ref.transport === 'docker') {
    // repo:tag@digest names the digest (the tag is only a comment): stored as repo@digest, as podman does.
    const r = parseReference(ref.path);
    return [formatReference(r.digest !== undefined ? { ...r, tag: undefined } : r)];
  }
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
  // The store remembers where registries hold its blobs, so a later push can mount them.
  const registry: RegistryOptions = { blobInfoCache: join(store.root, 'blob-info-cache.json'), ...opts.registry };
  // RegistryOptions is an interface (no index signature); open.ts passes it through untouched.
  return { tmpDir: store.tmp, platform: opts.platform, registry: registry as Record<string, unknown> };
}

/**
 * Where a bare name given to pull (or FROM) may come from, as full references, in the order to try.
 * Podman's rule: a fully qualified name is itself; a short name is a registries.conf alias, else
 * each `unqualified-search-registries` entry in order. (`docker://busybox` is never searched: like
 * skopeo, an explicit docker:// reference means Docker Hub.)
 */
export async function shortNameCandidates(name: string, registry: Pick<RegistryOptions, 'registriesConf'> = {}): Promise<string[]> {
  let qualified: boolean;
  try {
    qualified = parseReference(name).qualified;
  } catch (e) {
    throw new UserError(`invalid image reference "${name}": ${(e as Error).message}`);
  }
  if (qualified) return [normalizeReference(name)];
  return resolveShortName(await loadRegistriesConf(registry.registriesConf), name);
}

/** The transport references to try for what the user typed (only a bare short name gives several). */
async function pullSources(source: string, opts: TransferOptions): Promise<string[]> {
  if (TRANSPORT.test(source)) return [source];
  return (await shortNameCandidates(source, opts.registry)).map((n) => 'docker://' + n);
}

/**
 * Copy an image into the store. A bare short name is resolved through registries.conf and each
 * candidate tried in order until one pulls; when none does, one line names every attempt.
 */
export async function pullImage(store: Store, source: string, opts: TransferOptions = {}): Promise<{ record: ImageRecord }> {
  const candidates = await pullSources(source, opts);
  if (candidates.length === 1) return pullOne(store, candidates[0], opts);
  const failures: string[] = [];
  for (const c of candidates) {
    try {
      return await pullOne(store, c, opts);
    } catch (e) {
      if (!(e instanceof UserError) || opts.signal?.aborted) throw e;
      failures.push(e.message);
    }
  }
  throw new UserError(`${source}: short name did not pull from any of ${candidates.length} candidates: ${failures.join('; ')}`);
}

async function pullOne(store: Store, source: string, opts: TransferOptions): Promise<{ record: ImageRecord }> {
  const ref = toTransport(source);
  const src = await openSource(ref, openContext(store, opts));
  try {
    const dest = storeDestination(store, pulledNames(ref, src.names));
    await interruptible(opts.signal, 'interrupted', () => copyImage(src, dest, { platform: opts.platform, onProgress: copyProgress(opts), signal: opts.signal }));
    return { record: dest.record() };
  } finally {
    await src.close();
  }
}

export interface PushOptions extends TransferOptions {
  /**
   * The name the image was asked for by (cache/lookup.ts's ImageMatch.name; none when by ID). A
   * docker-archive: destination that names no image records this one, as buildah and podman do, so
   * `podman load` gives a named image.
   */
  name?: string;
}

export async function pushImage(store: Store, image: ImageRecord, destination: string, opts: PushOptions = {}): Promise<{ manifestDigest: string }> {
  let ref: TransportReference;
  try {
    ref = toTransport(destination);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`invalid destination "${destination}"`);
  }
  if (ref.transport === 'docker-archive' && ref.tag === undefined && opts.name !== undefined) ref = { ...ref, tag: opts.name };
  const dest = await openDestination(ref, openContext(store, opts));
  try {
    const result = await interruptible(opts.signal, 'interrupted', () => copyImage(storeSource(store, image), dest, { format: opts.format, onProgress: copyProgress(opts), signal: opts.signal }));
    return { manifestDigest: result.manifestDigest };
  } finally {
    await dest.close();
  }
}

// ---------------------------------------------------------------- remote build cache

/**
 * `--cache-from` / `--cache-to REF` as build() takes them: opened when the build needs them, REF a
 * transport reference or a bare name meaning docker:// (as push and pull take it).
 */
export function cacheLocation(reference: string, ctx: { tmpDir?: string; registry?: RegistryOptions } = {}) {
  const ref = (): TransportReference => {
    try {
      return toTransport(reference);
    } catch (e) {
      throw new UserError(`invalid cache reference "${reference}": ${(e as Error).message}`);
    }
  };
  const open: OpenContext = { tmpDir: ctx.tmpDir, registry: ctx.registry as Record<string, unknown> | undefined };
  return {
    from: { reference, open: (): Promise<ImageSource> => openSource(ref(), open) },
    to: { reference, open: (): Promise<ImageDestination> => openDestination(ref(), open) },
  };
}

// ---------------------------------------------------------------- login / logout

export { login, logout, type LoginOptions } from './auth/login.js';

/** Remove every stored credential from the auth file (`logout --all`); returns the file's path. */
export async function logoutAll(opts: { authfile?: string } = {}): Promise<string> {
  const file = opts.authfile ?? defaultAuthFile();
  const content = await readAuthFile(file);
  if (content?.auths && Object.keys(content.auths).length > 0) {
    delete content.auths;
    await writeAuthFile(file, content);
  }
  return file;
}
