// A tiny image crafted by hand for registry tests: one gzip layer holding one file, an OCI config,
// and an OCI manifest, plus a writer for an OCI layout directory (for skopeo interop).
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface Blob {
  digest: string;
  size: number;
  mediaType: string;
  bytes: Buffer;
}

export interface TestImage {
  layers: Blob[];
  config: Blob;
  manifest: { bytes: Buffer; digest: string; mediaType: string };
}

function sha(b: Buffer): string {
  return 'sha256:' + createHash('sha256').update(b).digest('hex');
}

function blob(bytes: Buffer, mediaType: string): Blob {
  return { digest: sha(bytes), size: bytes.length, mediaType, bytes };
}

/** A ustar header for a regular file of `size` bytes (declared only: the data may lie, for hostile tests). */
export function ustarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

/** A one-file ustar archive (enough for a layer; tar-stream would do too, this keeps tests self-contained). */
export function tarOneFile(name: string, content: Buffer): Buffer {
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([ustarHeader(name, content.length), content, pad, Buffer.alloc(1024)]);
}

/** Build an image; `extraLayerBytes` adds a second layer of random bytes (for chunked uploads). */
export function makeTestImage(opts: { text?: string; extraLayerBytes?: number; arch?: string } = {}): TestImage {
  const tar = tarOneFile('hello.txt', Buffer.from(opts.text ?? 'hello from tsbuild\n'));
  const layers = [blob(gzipSync(tar), 'application/vnd.oci.image.layer.v1.tar+gzip')];
  const diffIds = [sha(tar)];
  if (opts.extraLayerBytes) {
    const big = tarOneFile('random.bin', randomBytes(opts.extraLayerBytes));
    layers.push(blob(gzipSync(big, { level: 0 }), 'application/vnd.oci.image.layer.v1.tar+gzip'));
    diffIds.push(sha(big));
  }
  const config = blob(
    Buffer.from(JSON.stringify({ architecture: opts.arch ?? 'amd64', os: 'linux', config: { Cmd: ['/hello.txt'] }, rootfs: { type: 'layers', diff_ids: diffIds } })),
    'application/vnd.oci.image.config.v1+json',
  );
  const manifestObj = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const bytes = Buffer.from(JSON.stringify(manifestObj));
  return { layers, config, manifest: { bytes, digest: sha(bytes), mediaType: manifestObj.mediaType } };
}

/** Write `img` as an OCI image layout at `dir`, tagged `tag`. */
export async function writeOciLayout(dir: string, img: TestImage, tag: string): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const b of [...img.layers, img.config, { bytes: img.manifest.bytes, digest: img.manifest.digest }]) {
    await writeFile(join(dir, 'blobs', 'sha256', b.digest.slice(7)), b.bytes);
  }
  const index = {
    schemaVersion: 2,
    manifests: [{ mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.bytes.length, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}
