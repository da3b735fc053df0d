// ImageDestination for docker://. Blobs first (bounded in parallel with p-limit), then the
// manifest under the tag (or the digest, for a digest reference). Nothing to commit afterwards:
// the registry makes the tag visible when the manifest PUT succeeds.
import pLimit, { type LimitFunction } from 'p-limit';
import type { Readable } from 'node:stream';
import { UserError } from '../../oci/errors.js';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST } from '../../oci/mediatypes.js';
import type { Descriptor } from '../../oci/types.js';
import type { ImageDestination, ManifestBytes, PutBlobOptions } from '../transport.js';
import type { RegistryClient } from './client.js';
import { blobExists, pushBlob, type PushBlobOptions, type PushResult } from './blob-push.js';
import { manifestDigestAt, pushManifest } from './manifest.js';

export class RegistryDestination implements ImageDestination {
  readonly supportedManifestTypes = [OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_LIST];
  /** The closing PUT of every upload names the digest, and the registry refuses a mismatch (DIGEST_INVALID). */
  readonly checksDigests = true;
  private readonly limit: LimitFunction;

  constructor(
    readonly reference: string,
    private readonly client: RegistryClient,
    private readonly tag: string | undefined,
    private readonly digest: string | undefined,
    private readonly upload: Pick<PushBlobOptions, 'chunkSize' | 'singleRequestMax'>,
    concurrency = 3,
  ) {
    this.limit = pLimit(concurrency);
  }

  hasBlob(desc: Descriptor): Promise<boolean> {
    return blobExists(this.client, desc.digest);
  }

  async putBlob(desc: Descriptor, content: Readable, opts?: PutBlobOptions): Promise<void> {
    await this.putBlobResult(desc, content, opts);
  }

  /** Like putBlob, saying whether the blob was skipped, mounted or uploaded. */
  putBlobResult(desc: Descriptor, content: Readable, opts?: PutBlobOptions): Promise<PushResult> {
    return this.limit(() => pushBlob(this.client, desc, content, { ...this.upload, verified: opts?.verified, reopen: opts?.reopen, absent: opts?.absent }));
  }

  async hasManifest(m: ManifestBytes): Promise<boolean> {
    if (this.digest && this.digest !== m.digest) return false; // putManifest says what is wrong
    return (await manifestDigestAt(this.client, this.tag ?? m.digest)) === m.digest;
  }

  async putManifest(m: ManifestBytes): Promise<void> {
    if (this.digest && this.digest !== m.digest) {
      throw new UserError(`pushing to ${this.reference}: the manifest's digest is ${m.digest}, not the one in the reference`);
    }
    await pushManifest(this.client, this.tag ?? m.digest, m);
  }

  async commit(): Promise<void> {}

  async close(): Promise<void> {
    await this.client.close();
  }
}
