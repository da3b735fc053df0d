// Opening a (compressed) layer blob as a stream of tar members, and listing its entries.
import { pipeline, type Readable } from 'node:stream';
import { decompressor } from './compression.js';
import { normalizeEntryPath, type LayerEntry } from './layer-entry.js';
import { readTar, type TarReader } from './tar-read.js';

export interface OpenedLayer extends TarReader {
  /** Stop reading early (on error); releases the blob stream. */
  abort(): void;
}

export function openLayer(blob: Readable, mediaType: string): OpenedLayer {
  const d = decompressor(mediaType);
  // pipeline forwards a failure of the blob stream (e.g. ENOENT) into the decompressor we iterate.
  const plain: Readable = d ? (pipeline(blob, d, () => {}) as unknown as Readable) : blob;
  const reader = readTar(plain);
  return {
    ...reader,
    abort() {
      plain.destroy();
      blob.destroy();
    },
  };
}

/** List a layer's entries without extracting. Paths are normalised; a '..' member is a UserError. */
export async function* readLayerEntries(blob: Readable, mediaType: string): AsyncIterable<Omit<LayerEntry, 'content'>> {
  const layer = openLayer(blob, mediaType);
  try {
    for await (const m of layer.members) {
      const e: Omit<LayerEntry, 'content'> = { ...m.header, path: normalizeEntryPath(m.header.path) };
      if (e.type === 'hardlink' && e.linkname !== undefined) e.linkname = normalizeEntryPath(e.linkname);
      if (e.type !== 'file') delete e.size;
      yield e;
    }
  } finally {
    layer.abort();
  }
}
