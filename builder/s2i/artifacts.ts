// Reading files out of a built image: the save-artifacts tar (unpacked defensively, §G-4),
// /tmp/.s2i/image_metadata.json (§F-3.4), and the runtime artifacts' snapshot dirs (§K-2).
import { createWriteStream, promises as fsp } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { decompressor } from '../../cache/compression.js';
import { readTar } from '../../cache/tar-read.js';
import { RootfsView } from '../../cache/rootfs-view.js';
import type { ImageRecord } from '../../cache/images.js';
import type { Store } from '../../cache/store.js';
import { UserError } from '../../oci/errors.js';

/** An image's snapshot dirs, lowest first (unpacks missing snapshots). */
export async function imageLayers(store: Store, rec: ImageRecord): Promise<string[]> {
  const manifest = await store.images.readManifest(rec);
  const config = await store.images.readConfig(rec);
  const layers = manifest.layers.map((l, i) => ({ diffID: config.rootfs.diff_ids[i]!, digest: l.digest, mediaType: l.mediaType }));
  return store.snapshots.ensure(layers);
}

/** An image's merged filesystem, read-only (unpacks missing snapshots). */
export async function imageView(store: Store, rec: ImageRecord): Promise<RootfsView> {
  return new RootfsView(await imageLayers(store, rec));
}

/** Read one file of an image's merged filesystem (undefined when absent). */
export async function readImageFile(store: Store, rec: ImageRecord, path: string): Promise<Buffer | undefined> {
  return (await imageView(store, rec)).readFile(path);
}

function normalMember(name: string): string | undefined {
  const n = posix.normalize(name.replace(/^\.\//, ''));
  if (n.startsWith('/') || n === '..' || n.startsWith('../') || n === '.' || n === '') return undefined;
  return n.replace(/\/$/, '');
}

/**
 * Find `member` (e.g. tmp/artifacts.tar) in the image's top layer and unpack the tar it holds into
 * `dest`: entries with absolute or `..` paths, links pointing out, devices and fifos are skipped,
 * existing files are kept. Returns the number of entries written; throws on a malformed stream.
 */
export async function unpackArtifactsFromLayer(store: Store, rec: ImageRecord, member: string, dest: string, warn: (m: string) => void): Promise<number> {
  const manifest = await store.images.readManifest(rec);
  const top = manifest.layers[manifest.layers.length - 1];
  if (!top) throw new UserError('save-artifacts produced no layer');
  const raw = store.blobs.createReadStream(top.digest);
  const dec = decompressor(top.mediaType);
  const stream: Readable = dec ? raw.pipe(dec) : raw;
  await fsp.mkdir(dest, { recursive: true });
  let written = 0;
  let found = false;
  for await (const m of readTar(stream).members) {
    if (normalMember(m.header.path) !== member || m.header.type !== 'file') continue;
    found = true;
    for await (const e of readTar(m.body()).members) {
      const rel = normalMember(e.header.path);
      if (!rel) {
        warn(`save-artifacts: skipping unsafe entry ${JSON.stringify(e.header.path)}`);
        continue;
      }
      const out = join(dest, rel);
      if (await fsp.lstat(out).then(() => true, () => false)) {
        if (e.header.type !== 'dir') warn(`save-artifacts: ${rel} already exists, keeping it`);
        continue;
      }
      await fsp.mkdir(dirname(out), { recursive: true });
      switch (e.header.type) {
        case 'dir':
          await fsp.mkdir(out, { mode: (e.header.mode & 0o7777) | 0o700 });
          break;
        case 'file':
          await pipeline(Readable.from(e.body()), createWriteStream(out, { mode: (e.header.mode & 0o7777) | 0o600 }));
          break;
        case 'symlink': {
          const target = e.header.linkname ?? '';
          const resolved = posix.normalize(posix.join(posix.dirname(rel), target));
          if (target.startsWith('/') || resolved === '..' || resolved.startsWith('../')) {
            warn(`save-artifacts: skipping symlink ${rel} -> ${target}: it points outside the artifacts`);
            continue;
          }
          await fsp.symlink(target, out);
          break;
        }
        case 'hardlink': {
          const target = normalMember(e.header.linkname ?? '');
          if (!target) {
            warn(`save-artifacts: skipping hardlink ${rel}: unsafe target`);
            continue;
          }
          await fsp.link(join(dest, target), out);
          break;
        }
        default:
          warn(`save-artifacts: skipping ${rel}: ${e.header.type} entries are not restored`);
          continue;
      }
      written++;
    }
    break;
  }
  stream.destroy();
  if (!found) throw new UserError(`save-artifacts left no /${member}`);
  return written;
}
