// Layer media types and (de)compression streams.
import type { Duplex } from 'node:stream';
import * as zlib from 'node:zlib';
import {
  DOCKER_LAYER, DOCKER_LAYER_GZIP, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, layerCompression,
  type Compression,
} from '../oci/mediatypes.js';
import { UserError } from '../oci/errors.js';

export function layerMediaType(format: 'oci' | 'docker', compression: Compression): string {
  if (format === 'docker') {
    if (compression === 'zstd') throw new UserError('zstd compression needs the OCI format (Docker schema 2 has no zstd layer type)');
    return compression === 'gzip' ? DOCKER_LAYER_GZIP : DOCKER_LAYER;
  }
  return compression === 'gzip' ? OCI_LAYER_GZIP : compression === 'zstd' ? OCI_LAYER_ZSTD : OCI_LAYER;
}

// Node >= 22.15 has zstd in zlib; probe for it rather than pinning a version.
const zstd = zlib as unknown as {
  createZstdCompress?: (opts?: object) => Duplex;
  createZstdDecompress?: () => Duplex;
};

export function compressor(compression: Compression, level?: number): Duplex | undefined {
  switch (compression) {
    case 'none':
      return undefined;
    case 'gzip':
      // zlib writes a fixed gzip header (mtime 0, no name), so the output depends only on input + level.
      return zlib.createGzip({ level: level ?? zlib.constants.Z_DEFAULT_COMPRESSION });
    case 'zstd':
      if (!zstd.createZstdCompress) throw new UserError('zstd compression is not supported yet on this Node.js version');
      return zstd.createZstdCompress(level === undefined ? {} : { params: { [(zlib.constants as unknown as Record<string, number>).ZSTD_c_compressionLevel!]: level } });
  }
}

/** A decompressor for a layer of `mediaType`, or undefined for an uncompressed tar. */
export function decompressor(mediaType: string): Duplex | undefined {
  switch (layerCompression(mediaType)) {
    case 'none':
      return undefined;
    case 'gzip':
      return zlib.createGunzip();
    case 'zstd':
      if (!zstd.createZstdDecompress) throw new UserError(`cannot read layer of type ${mediaType}: zstd is not supported yet on this Node.js version`);
      return zstd.createZstdDecompress();
  }
}
