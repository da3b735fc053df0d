// `tsbuild check-store` (fsck): proves a store is whole after crashes, kills and concurrent use.
// Every blob is re-hashed; every reference is followed — image names → manifests (→ index children)
// → configs and layers (sizes, and each layer's diffID by decompressing it), snapshots (meta, chain
// IDs, parents, short links), build-cache entries → layers. Problems are returned as lines; nothing is
// changed (openStore itself already removes temp leftovers of dead processes).
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { chainIds, isDigest } from '../oci/digest.js';
import { isIndexMediaType } from '../oci/mediatypes.js';
import type { ImageConfig } from '../oci/types.js';
import { decompressor } from './compression.js';
import { pidAlive, tempNamePid } from './fsutil.js';
import type { Store } from './store.js';

export interface CheckReport {
  /** One line per problem: what is wrong and where. Empty when the store is whole. */
  problems: string[];
  /** Counts of what was checked, for the summary line. */
  checked: { blobs: number; images: number; snapshots: number; cacheEntries: number };
}

async function hashFile(path: string, transform?: NodeJS.ReadWriteStream): Promise<string> {
  const h = createHash('sha256');
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      cb();
    },
  });
  if (transform) await pipeline(createReadStream(path), transform, sink);
  else await pipeline(createReadStream(path), sink);
  return 'sha256:' + h.digest('hex');
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return (await fsp.readdir(dir)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await fsp.readFile(path, 'utf8')) as T;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
}

export async function checkStore(store: Store): Promise<CheckReport> {
  const problems: string[] = [];
  const checked = { blobs: 0, images: 0, snapshots: 0, cacheEntries: 0 };
  const blobDir = join(store.blobs.dir, 'sha256');

  // 1. Blobs: name is the content's digest.
  const blobSizes = new Map<string, number>();
  for (const name of await readdirOrEmpty(blobDir)) {
    const p = join(blobDir, name);
    if (!/^[a-f0-9]{64}$/.test(name)) {
      problems.push(`blob ${p}: not a sha256 name (a stray or half-written file)`);
      continue;
    }
    checked.blobs++;
    const st = await fsp.lstat(p);
    if (!st.isFile()) {
      problems.push(`blob sha256:${name}: not a regular file`);
      continue;
    }
    const got = await hashFile(p);
    if (got !== `sha256:${name}`) problems.push(`blob sha256:${name}: content hashes to ${got} (corrupt)`);
    else blobSizes.set(`sha256:${name}`, st.size);
  }
  const has = (d: string) => blobSizes.has(d);

  // diffIDs are verified once per layer blob, however many images share it.
  const diffIds = new Map<string, Promise<string | undefined>>();
  const layerDiffId = (d: Descriptor) => {
    let p = diffIds.get(d.digest);
    if (!p) {
      p = (async () => hashFile(store.blobs.path(d.digest), decompressor(d.mediaType ?? '') ?? undefined))().catch(() => undefined);
      diffIds.set(d.digest, p);
    }
    return p;
  };

  const checkDescriptor = (d: Descriptor, what: string): boolean => {
    if (typeof d?.digest !== 'string' || !isDigest(d.digest)) {
      problems.push(`${what}: invalid descriptor ${JSON.stringify(d)}`);
      return false;
    }
    if (!has(d.digest)) {
      problems.push(`${what}: blob ${d.digest} is missing or corrupt`);
      return false;
    }
    if (typeof d.size === 'number' && blobSizes.get(d.digest) !== d.size) problems.push(`${what}: blob ${d.digest} has ${blobSizes.get(d.digest)} bytes, descriptor says ${d.size}`);
    return true;
  };

  const checkManifest = async (digest: string, what: string, configId?: string): Promise<void> => {
    let m: { mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
    try {
      m = JSON.parse((await store.blobs.readBytes(digest)).toString('utf8'));
    } catch {
      problems.push(`${what}: manifest ${digest} is not JSON`);
      return;
    }
    if (isIndexMediaType(m.mediaType) || Array.isArray(m.manifests)) {
      // A pulled index may list platforms that were never fetched; those present must be whole.
      for (const c of m.manifests ?? []) if (typeof c?.digest === 'string' && has(c.digest)) await checkManifest(c.digest, `${what} (index child ${c.digest})`);
      return;
    }
    if (!m.config || !checkDescriptor(m.config, `${what}: config`)) return;
    if (configId && m.config.digest !== `sha256:${configId}`) problems.push(`${what}: record ID ${configId} but manifest config is ${m.config.digest}`);
    let config: ImageConfig;
    try {
      config = JSON.parse((await store.blobs.readBytes(m.config.digest)).toString('utf8')) as ImageConfig;
    } catch {
      problems.push(`${what}: config ${m.config.digest} is not JSON`);
      return;
    }
    const layers = m.layers ?? [];
    const wantDiffIds = config.rootfs?.diff_ids ?? [];
    if (wantDiffIds.length !== layers.length) problems.push(`${what}: ${layers.length} layers but ${wantDiffIds.length} diff_ids in the config`);
    for (let i = 0; i < layers.length; i++) {
      if (!checkDescriptor(layers[i]!, `${what}: layer ${i}`)) continue;
      const got = await layerDiffId(layers[i]!);
      if (got === undefined) problems.push(`${what}: layer ${i} (${layers[i]!.digest}) does not decompress as ${layers[i]!.mediaType}`);
      else if (wantDiffIds[i] !== undefined && got !== wantDiffIds[i]) problems.push(`${what}: layer ${i} (${layers[i]!.digest}) has diffID ${got}, config says ${wantDiffIds[i]}`);
    }
  };

  // 2. Images.
  let records: { id: string; manifestDigest: string; names: string[] }[] = [];
  try {
    records = await store.images.list();
  } catch (e) {
    problems.push(`images: ${(e as Error).message}`);
  }
  for (const r of records) {
    checked.images++;
    const what = `image ${r.id.slice(0, 12)} (${r.names.join(', ') || 'no name'})`;
    if (!checkDescriptor({ digest: r.manifestDigest }, `${what}: manifest`)) continue;
    await checkManifest(r.manifestDigest, what, r.id);
  }

  // 3. Snapshots: <chain>/fs + meta.json, chain = chain(parent, diffID), parents present.
  const snapDir = store.snapshots.dir;
  const snaps = (await readdirOrEmpty(snapDir)).filter((n) => n !== 'l');
  const snapSet = new Set(snaps);
  for (const name of snaps) {
    const what = `snapshot ${name.slice(0, 12)}`;
    if (!/^[a-f0-9]{64}$/.test(name)) {
      problems.push(`snapshots/${name}: not a chain ID (a stray entry)`);
      continue;
    }
    checked.snapshots++;
    let meta: { diffID?: string; parent?: string | null };
    try {
      meta = await readJson(join(snapDir, name, 'meta.json'));
    } catch {
      problems.push(`${what}: meta.json missing or not JSON`);
      continue;
    }
    if (!(await fsp.stat(join(snapDir, name, 'fs')).then((s) => s.isDirectory(), () => false))) problems.push(`${what}: fs directory missing`);
    if (typeof meta.diffID !== 'string' || !isDigest(meta.diffID)) {
      problems.push(`${what}: meta.json has no diffID`);
      continue;
    }
    const parent = meta.parent ?? undefined;
    const chain = parent ? chainIds([`sha256:${parent}`, meta.diffID])[1]! : meta.diffID;
    if (chain !== `sha256:${name}`) problems.push(`${what}: chain ID does not match its parent and diffID`);
    if (parent && !snapSet.has(parent)) problems.push(`${what}: parent snapshot ${parent.slice(0, 12)} is missing`);
  }
  for (const name of await readdirOrEmpty(join(snapDir, 'l'))) {
    const link = join(snapDir, 'l', name);
    if (tempNamePid(name) !== undefined) continue; // a link being made right now, or a leftover openStore will clean
    const target = await fsp.readlink(link).catch(() => undefined);
    if (!target || !(await fsp.stat(link).then(() => true, () => false))) problems.push(`snapshots/l/${name}: dangling short link -> ${target}`);
  }

  // 4. Build cache entries → their layers.
  const entriesDir = join(store.root, 'cache', 'entries');
  for (const name of await readdirOrEmpty(entriesDir)) {
    if (!name.endsWith('.json')) continue;
    checked.cacheEntries++;
    let entry: { key?: string; layer?: Descriptor & { diffID?: string } };
    try {
      entry = await readJson(join(entriesDir, name));
    } catch {
      problems.push(`cache entry ${name}: not JSON (half written?)`);
      continue;
    }
    if (entry.key !== undefined && entry.key !== `sha256:${name.slice(0, -5)}`) problems.push(`cache entry ${name}: key ${entry.key} does not match its file name`);
    if (entry.layer && checkDescriptor(entry.layer, `cache entry ${name.slice(0, 12)}: layer`) && entry.layer.diffID) {
      const got = await layerDiffId(entry.layer);
      if (got !== entry.layer.diffID) problems.push(`cache entry ${name.slice(0, 12)}: layer ${entry.layer.digest} has diffID ${got}, entry says ${entry.layer.diffID}`);
    }
  }

  // 5. Leftovers: temp entries of processes that are gone (openStore removes them; any still here is a bug).
  for (const name of await readdirOrEmpty(store.tmp)) {
    const pid = tempNamePid(name);
    if (pid !== undefined && pid !== process.pid && !pidAlive(pid)) problems.push(`tmp/${name}: leftover of dead process ${pid}`);
  }
  return { problems, checked };
}
