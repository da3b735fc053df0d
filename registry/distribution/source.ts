// ImageSource for docker://: the manifest is looked up on each endpoint in turn (mirrors first),
// and the endpoint that answered serves the blobs too.
import { UserError } from '../../oci/errors.js';
import type { Descriptor, Platform } from '../../oci/types.js';
import type { Readable } from 'node:stream';
import type { ImageSource, ManifestBytes } from '../transport.js';
import type { RegistryClient } from './client.js';
import { pullBlob } from './blob-pull.js';
import { resolveImageManifest } from './manifest.js';
import { hostPlatform } from './platform.js';

export class RegistrySource implements ImageSource {
  private active: RegistryClient | undefined;

  constructor(
    readonly reference: string,
    /** Mirrors first, the primary last. */
    private readonly clients: RegistryClient[],
    private readonly tagOrDigest: string,
    private readonly defaultPlatform: Platform | undefined,
  ) {}

  async getManifest(platform?: Platform): Promise<ManifestBytes> {
    const want = platform ?? this.defaultPlatform ?? hostPlatform();
    const order = this.active ? [this.active] : this.clients;
    let lastError: unknown;
    for (const c of order) {
      try {
        const m = await resolveImageManifest(c, this.tagOrDigest, want);
        this.active = c;
        recordManifestBlobs(c, m);
        return m;
      } catch (e) {
        // A mirror that fails is skipped; only the primary's error is the user's answer.
        lastError = e;
        if (!(e instanceof UserError)) throw e;
      }
    }
    throw lastError;
  }

  async getBlob(desc: Descriptor): Promise<Readable> {
    return pullBlob(this.active ?? this.clients[this.clients.length - 1], desc);
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}

/**
 * A registry holds every blob a manifest it serves names: remember them all for later mounts, also
 * the ones a pull finds in the store already and never fetches.
 */
function recordManifestBlobs(c: RegistryClient, m: ManifestBytes): void {
  let parsed: { config?: { digest?: unknown }; layers?: { digest?: unknown }[] };
  try {
    parsed = JSON.parse(m.bytes.toString('utf8'));
  } catch {
    return;
  }
  for (const d of [parsed.config, ...(Array.isArray(parsed.layers) ? parsed.layers : [])]) {
    if (typeof d?.digest === 'string') c.blobLocations.record(c.config.registry, c.repository, d.digest);
  }
}
