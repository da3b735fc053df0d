// What COPY/ADD planning needs to know about the destination filesystem, as interfaces so unit
// tests can fake it (cache/rootfs-view.ts implements them over snapshots). The entry types are the
// layer codec's own.
import type { ViewStat } from '../../cache/rootfs-view.js';

export type { LayerEntry, LayerEntryType } from '../../cache/layers.js';

export type RootfsStat = ViewStat;

/** The destination image's current filesystem, read-only (implemented by cache/). */
export interface RootfsReader {
  /** rootfs-absolute result, symlinks scoped to the rootfs */
  resolve(path: string, followLast?: boolean): Promise<string>;
  lstat(path: string): Promise<RootfsStat | undefined>;
  readFile(path: string): Promise<Buffer | undefined>;
}

/** A rootfs that can also be listed: what COPY --from needs from another stage's snapshot. */
export interface RootfsTreeReader extends RootfsReader {
  /** Names in a directory; undefined when it does not exist. */
  readdir(path: string): Promise<string[] | undefined>;
  /** Where a regular file can be read from as it is (its content then streams, not buffered). */
  readablePath?(path: string): Promise<string | undefined>;
}
