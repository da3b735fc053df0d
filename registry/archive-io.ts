// Reading and writing the tar files behind oci-archive: and docker-archive:. Reading extracts into a
// private temp dir (archives need random access: manifest.json names files anywhere in the tar);
// writing packs prepared files into a temp name next to the target and renames it into place.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract, pack, type Header } from 'tar-stream';
import { UserError } from '../oci/errors.js';
import { isNotFound } from './files.js';

/**
 * A fresh private directory for one archive; the caller removes it on close. The name starts with
 * our pid, the store's convention for temp entries, so openStore cleans it up after a crash.
 */
export function makeTempDir(prefix: string, parent?: string): Promise<string> {
  return mkdtemp(join(parent ?? tmpdir(), `${process.pid}-tsbuild-${prefix}-`));
}

/** True when the file starts with the gzip magic (docker save | gzip, or gzipped layers). */
export async function isGzipFile(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** Archive member name → safe relative path, or undefined for the root itself. */
function safeName(name: string, reference: string): string | undefined {
  const n = posix.normalize(name.replace(/^\.?\/+/, ''));
  if (n === '.' || n === '' || n === './') return undefined;
  if (n.startsWith('../') || n === '..' || posix.isAbsolute(n)) throw new UserError(`${reference}: archive member ${JSON.stringify(name)} points outside the archive`);
  return n.replace(/\/$/, '');
}

/**
 * Extract regular files and directories of `file` (optionally gzip-compressed) into `dir`. Symlinks
 * and hard links inside the archive (docker save's legacy `<id>/layer.tar` links) become copies of
 * their targets; links leading outside are ignored.
 */
export async function extractArchive(file: string, dir: string, reference: string): Promise<void> {
  let gz: boolean;
  try {
    gz = await isGzipFile(file);
  } catch (e) {
    if (isNotFound(e)) throw new UserError(`${reference}: no such file ${file}`);
    throw e;
  }
  const links: Array<{ name: string; target: string }> = [];
  const ex = extract();
  const input: Readable = createReadStream(file);
  const feeding = gz ? pipeline(input, createGunzip(), ex) : pipeline(input, ex);
  try {
    for await (const entry of ex) {
      const h: Header = entry.header;
      const name = safeName(h.name, reference);
      if (name !== undefined && h.type === 'file') {
        await mkdir(join(dir, dirname(name)), { recursive: true });
        await pipeline(entry, createWriteStream(join(dir, name), { mode: 0o644 }));
        continue;
      }
      if (name !== undefined && h.type === 'directory') await mkdir(join(dir, name), { recursive: true });
      if (name !== undefined && (h.type === 'symlink' || h.type === 'link') && h.linkname) {
        const target = h.type === 'symlink' ? posix.normalize(posix.join(posix.dirname(name), h.linkname)) : posix.normalize(h.linkname.replace(/^\.?\/+/, ''));
        links.push({ name, target });
      }
      entry.resume();
    }
    await feeding;
  } catch (e) {
    input.destroy();
    feeding.catch(() => {});
    if (e instanceof UserError) throw e;
    throw new UserError(`${reference}: corrupt archive ${file}: ${(e as Error).message}`, { cause: e });
  }
  // Resolve links in a few passes, so a link to a link works too.
  for (let pass = 0; pass < 4 && links.length > 0; pass++) {
    for (let i = links.length - 1; i >= 0; i--) {
      const { name, target } = links[i]!;
      if (target.startsWith('../') || posix.isAbsolute(target)) {
        links.splice(i, 1);
        continue;
      }
      try {
        if (!(await stat(join(dir, target))).isFile()) continue;
        await mkdir(join(dir, dirname(name)), { recursive: true });
        await copyFile(join(dir, target), join(dir, name));
        links.splice(i, 1);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }
}

export type ArchiveMember =
  | { name: string; path: string }
  | { name: string; data: Buffer | string }
  | { name: string; symlink: string };

/** Every regular file under `dir`, as members named by their relative path, sorted. */
export async function membersOf(dir: string): Promise<ArchiveMember[]> {
  const out: ArchiveMember[] = [];
  const walk = async (rel: string): Promise<void> => {
    const ents = await readdir(join(dir, rel), { withFileTypes: true });
    ents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of ents) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile() && !e.name.startsWith('.tmp-')) out.push({ name: r, path: join(dir, r) });
    }
  };
  await walk('');
  return out;
}

/**
 * Write members as a tar to `file` atomically. Parent directories get their own entries (as skopeo
 * writes them); timestamps are fixed so the same image gives the same archive.
 */
export async function writeArchive(file: string, members: ArchiveMember[]): Promise<void> {
  const tmp = join(dirname(file), `.tmp-${basename(file)}-${randomBytes(6).toString('hex')}`);
  const p = pack();
  const writing = pipeline(p, createWriteStream(tmp, { mode: 0o644 }));
  const mtime = new Date(0);
  const dirs = new Set<string>();
  try {
    for (const m of members) {
      const parts = m.name.split('/').slice(0, -1);
      for (let i = 1; i <= parts.length; i++) {
        const d = parts.slice(0, i).join('/');
        if (dirs.has(d)) continue;
        dirs.add(d);
        await new Promise<void>((res, rej) => p.entry({ name: d + '/', type: 'directory', mode: 0o755, mtime }, (err) => (err ? rej(err) : res())));
      }
      if ('path' in m) {
        const { size } = await stat(m.path);
        await pipeline(createReadStream(m.path), p.entry({ name: m.name, size, mode: 0o644, mtime }));
      } else if ('data' in m) {
        await new Promise<void>((res, rej) => p.entry({ name: m.name, mode: 0o644, mtime }, m.data, (err) => (err ? rej(err) : res())));
      } else {
        await new Promise<void>((res, rej) => p.entry({ name: m.name, type: 'symlink', linkname: m.symlink, mode: 0o777, mtime }, (err) => (err ? rej(err) : res())));
      }
    }
    p.finalize();
    await writing;
    const fh = await open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    p.destroy();
    writing.catch(() => {});
    await rm(tmp, { force: true });
    if (isNotFound(e)) throw new UserError(`cannot write ${file}: its directory does not exist`, { cause: e });
    throw e;
  }
}
