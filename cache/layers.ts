// The layer codec: entries ⇄ tar. This module is the public face; each job lives in its own file.
export type { LayerEntry, LayerEntryType } from './layer-entry.js';
export { OPAQUE_WHITEOUT, WHITEOUT_PREFIX } from './layer-entry.js';
export { writeLayer } from './layer-write.js';
export type { LayerBlob, LayerWriteOptions } from './layer-write.js';
export { applyLayer } from './layer-apply.js';
export type { ApplyOptions, ApplyResult } from './layer-apply.js';
export { readLayerEntries } from './layer-read.js';
export { scanDir } from './layer-scan.js';
export type { ScanOptions } from './layer-scan.js';
