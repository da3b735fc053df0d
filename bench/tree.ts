// What an image holds, as a flat map "path → kind and digest", read two independent ways: from an
// OCI layout's layer tars (tsbuild's output, decompressed by the system gzip/zstd, not by tsbuild's
// code) and from a mounted directory (buildah's container). The two maps compare with `diffTrees`.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, readdirSync, lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

/** path (no leading slash) → "d" | "l:<target>" | "f:<sha256 hex>" */
export type Tree = Map<string, string>;

function wanted(path: string, prefixes: string[]): boolean {
  return prefixes.some((p) => path === p || path.startsWith(p + '/'));
}

function blobPath(layout: string, digest: string): string {
  const [alg, hex] = digest.split(':');
  return join(layout, 'blobs', alg!, hex!);
}

/** Apply an OCI image's layers from `layout` (index.json's first manifest) and keep `prefixes`. */
export async function treeFromLayout(layout: string, prefixes: string[]): Promise<{ tree: Tree; layerMediaTypes: string[]; blobDigests: string[] }> {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(blobPath(layout, index.manifests[0].digest), 'utf8'));
  const tree: Tree = new Map();
  for (const layer of manifest.layers as { mediaType: string; digest: string }[]) {
    await applyLayer(tree, blobPath(layout, layer.digest), layer.mediaType, prefixes);
  }
  return {
    tree,
    layerMediaTypes: manifest.layers.map((l: { mediaType: string }) => l.mediaType),
    blobDigests: manifest.layers.map((l: { digest: string }) => l.digest),
  };
}

function decompressArgs(mediaType: string): [string, string[]] | undefined {
  if (mediaType.endsWith('gzip')) return ['gzip', ['-dc']];
  if (mediaType.endsWith('zstd')) return ['zstd', ['-dcq']];
  return undefined;
}

async function applyLayer(tree: Tree, file: string, mediaType: string, prefixes: string[]): Promise<void> {
  const extract = tar.extract();
  const removeUnder = (dir: string, keepSelf: boolean) => {
    for (const k of [...tree.keys()]) if ((!keepSelf && k === dir) || k.startsWith(dir + '/')) tree.delete(k);
  };
  // Opaque dirs and whiteouts hide lower layers only: record this layer's entries, apply at the end.
  const added: [string, string][] = [];
  const opaque: string[] = [];
  const whiteouts: string[] = [];
  extract.on('entry', (h, stream, next) => {
    const path = h.name.replace(/^\.?\/+/, '').replace(/\/+$/, '');
    const slash = path.lastIndexOf('/');
    const base = path.slice(slash + 1);
    const dir = slash >= 0 ? path.slice(0, slash) : '';
    if (base === '.wh..wh..opq') opaque.push(dir);
    else if (base.startsWith('.wh.')) whiteouts.push((dir ? dir + '/' : '') + base.slice(4));
    if (base.startsWith('.wh.') || !wanted(path, prefixes)) {
      stream.on('end', next).resume();
      return;
    }
    if (h.type === 'file' || h.type === 'contiguous-file') {
      const hash = createHash('sha256');
      stream.on('data', (c: unknown) => hash.update(c as Buffer));
      stream.on('end', () => {
        added.push([path, 'f:' + hash.digest('hex')]);
        next();
      });
      return;
    }
    if (h.type === 'directory') added.push([path, 'd']);
    else if (h.type === 'symlink') added.push([path, 'l:' + h.linkname]);
    else if (h.type === 'link') {
      const target = (h.linkname ?? '').replace(/^\.?\/+/, '');
      added.push([path, tree.get(target) ?? added.find(([p]) => p === target)?.[1] ?? 'f:?']);
    } else added.push([path, h.type ?? '?']);
    stream.on('end', next).resume();
  });
  const tool = decompressArgs(mediaType);
  if (tool) {
    const child = spawn(tool[0], tool[1], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<number>((r) => child.on('close', (c) => r(c ?? 1)));
    await Promise.all([pipeline(createReadStream(file), child.stdin), pipeline(child.stdout, extract)]);
    if ((await exited) !== 0) throw new Error(`${tool[0]} could not decompress ${file}`);
  } else {
    await pipeline(createReadStream(file), extract);
  }
  for (const d of opaque) removeUnder(d, true);
  for (const w of whiteouts) removeUnder(w, false);
  for (const [p, v] of added) tree.set(p, v);
}

/** The same map from a directory on disk (a mounted buildah container). */
export function treeFromDir(root: string, prefixes: string[]): Tree {
  const tree: Tree = new Map();
  const visit = (rel: string) => {
    const abs = join(root, rel);
    const st = lstatSync(abs);
    if (st.isDirectory()) {
      tree.set(rel, 'd');
      for (const n of readdirSync(abs)) visit(rel + '/' + n);
    } else if (st.isSymbolicLink()) tree.set(rel, 'l:' + readlinkSync(abs));
    else if (st.isFile()) tree.set(rel, 'f:' + createHash('sha256').update(readFileSync(abs)).digest('hex'));
    else tree.set(rel, 'other');
  };
  for (const p of prefixes) {
    try {
      lstatSync(join(root, p));
    } catch {
      continue;
    }
    visit(p);
  }
  return tree;
}

/** Streams a big file's digest without holding it. */
export async function fileDigest(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

/** The expected files of a tree (parents implied): path → content digest. Dirs are not compared. */
export type Expected = Map<string, string>;

/** Up to a few human-readable differences between `expected` files and `tree`, or [] when they match. */
export function diffTrees(expected: Expected, tree: Tree): string[] {
  const out: string[] = [];
  let files = 0;
  for (const [p, v] of tree) {
    if (!v.startsWith('f:')) continue;
    files++;
    const want = expected.get(p);
    if (want === undefined) out.push(`unexpected file /${p}`);
    else if ('f:' + want !== v) out.push(`/${p}: content differs`);
  }
  for (const p of expected.keys()) if (!tree.has(p)) out.push(`missing /${p}`);
  if (out.length > 0 && files !== expected.size) out.unshift(`${files} files, expected ${expected.size}`);
  return out.slice(0, 6);
}
