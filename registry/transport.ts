// One interface for every place an image can live, after containers/image's
// ImageReference / ImageSource / ImageDestination split. Implementations: oci:, oci-archive:,
// docker-archive:, docker:// (registry), and the local store.
import type { Readable } from 'node:stream';
import type { Descriptor, Platform } from '../oci/types.js';

export interface ManifestBytes {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export interface ImageSource {
  /** Human-readable reference, for messages ("oci:/tmp/layout:v1"). */
  readonly reference: string;
  /** Names the source records for the image (docker-archive RepoTags), used to name a pulled image. */
  readonly names?: string[];
  /**
   * The image manifest (never an index: an index or manifest list is resolved here to the entry
   * for `platform`, default this machine's). The caller verifies the bytes against `digest`.
   */
  getManifest(platform?: Platform): Promise<ManifestBytes>;
  /** Blob content, compressed as stored. The caller verifies the digest while streaming. */
  getBlob(desc: Descriptor): Promise<Readable>;
  close(): Promise<void>;
}

export interface ImageDestination {
  readonly reference: string;
  /** Manifest media types this destination accepts, preferred first: a source in another format is converted to the first. */
  readonly supportedManifestTypes: string[];
  /**
   * Types it also stores when the caller forces that format (CopyOptions.format), but never converts
   * to unasked. An OCI layout holding a Docker manifest is one skopeo, buildah and podman cannot find
   * by tag, so containers/image converts to OCI there, yet writes what `push --format docker` forces.
   */
  readonly forcedManifestTypes?: string[];
  /** Whether layers must be written uncompressed (docker-archive). */
  readonly wantsUncompressedLayers?: boolean;
  hasBlob(desc: Descriptor): Promise<boolean>;
  /**
   * Write a blob whose digest is known in advance; the destination verifies it while writing.
   * `desc.size` is -1 when unknown (a layer being decompressed on the way: its digest is the diffID).
   */
  /**
   * The destination computes every blob's digest itself and refuses content that does not match
   * it (a registry, at the closing PUT of an upload): copyImage then does not hash what it streams
   * there, only counts it. A push of a 600 MB layer saves ~0.5 s of CPU that the registry, busy
   * hashing the same bytes, needs on a small machine.
   */
  readonly checksDigests?: boolean;
  putBlob(desc: Descriptor, content: Readable, opts?: PutBlobOptions): Promise<void>;
  /**
   * Whether the destination's reference already names exactly this manifest (a registry: HEAD of the
   * tag, compared by digest). copyImage then writes no manifest when it uploaded no blob either.
   */
  hasManifest?(manifest: ManifestBytes): Promise<boolean>;
  /** Write the manifest (and, for layouts, its config-and-tag bookkeeping) and finish. */
  putManifest(manifest: ManifestBytes): Promise<void>;
  /** Make everything visible atomically (archives are written here). */
  commit(): Promise<void>;
  close(): Promise<void>;
}

export interface PutBlobOptions {
  /**
   * The content is checked against `desc` on its way (copyImage's DigestVerifier ends the stream
   * with an error instead of its last bytes on a mismatch): a destination may skip hashing it again.
   */
  verified?: boolean;
  /**
   * The content again from its start (a new read of the source, verified the same way): a
   * destination that streams a blob and fails half-way may send it again.
   */
  reopen?: () => Promise<Readable>;
  /** The caller has just asked hasBlob() and heard no: a destination need not ask again. */
  absent?: boolean;
}

export type TransportName = 'oci' | 'oci-archive' | 'docker-archive' | 'docker';

export interface TransportReference {
  transport: TransportName;
  /** Path for oci/oci-archive/docker-archive; the registry reference for docker. */
  path: string;
  /** Tag (oci: ref.name annotation) or, for docker-archive, the image name to record. */
  tag?: string;
  /** Original text, for messages. */
  raw: string;
}
