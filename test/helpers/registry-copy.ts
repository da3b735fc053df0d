// Push a crafted image through our ImageDestination and read one back through our ImageSource.
import { Readable } from 'node:stream';
import type { ImageManifest } from '../../oci/types.js';
import type { ImageDestination, ImageSource, TransportReference } from '../../registry/transport.js';
import type { TestImage } from './registry-image.js';

export function dockerRef(s: string): TransportReference {
  return { transport: 'docker', path: s, raw: `docker://${s}` };
}

export async function pushImage(dest: ImageDestination, img: TestImage): Promise<void> {
  await Promise.all([...img.layers, img.config].map((b) => dest.putBlob({ mediaType: b.mediaType, digest: b.digest, size: b.size }, Readable.from([b.bytes]))));
  await dest.putManifest(img.manifest);
  await dest.commit();
}

export async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return Buffer.concat(parts);
}

export async function pullImage(src: ImageSource): Promise<{ manifest: ImageManifest; digest: string; blobs: Map<string, Buffer> }> {
  const m = await src.getManifest();
  const manifest = JSON.parse(m.bytes.toString()) as ImageManifest;
  const blobs = new Map<string, Buffer>();
  for (const d of [manifest.config, ...manifest.layers]) blobs.set(d.digest, await readAll(await src.getBlob(d)));
  return { manifest, digest: m.digest, blobs };
}
