// `--inject SRC:DST` (§L-1): host files the assemble script can read and write, which must not stay
// in the image. S2I uploads them world-writable and truncates them to 0 bytes after assemble (the
// truncated files stay); its Dockerfile mode COPYs them and `rm`s them in a later layer (the content
// stays in the COPY layer). tsbuild bind-mounts each file into the assemble step instead: nothing of
// them, not even an empty file or a directory made for them, reaches a layer, in either mode.
import { promises as fsp } from 'node:fs';
import { basename, join, posix, relative, resolve, sep } from 'node:path';
import { UserError } from '../../oci/errors.js';

export interface InjectionSpec {
  /** host path: a directory (its files, below DST) or a file (DST/<its name>) */
  source: string;
  /** as given: absolute, or relative to the working directory; '' or '.' is the working directory */
  destination: string;
}

/** One file to mount: staged in the build context, and where assemble sees it. */
export interface InjectedFile {
  /** context-relative path of the staged copy */
  contextPath: string;
  /** absolute path in the assemble container */
  target: string;
}

/** The files one build may inject (each is a mount of its own). */
const MAX_FILES = 512;

/** `-i SRC:DST`, repeatable, each also a `;`-separated list (as S2I's VolumeList). */
export function parseInjections(values: string[]): InjectionSpec[] {
  const out: InjectionSpec[] = [];
  for (const value of values) {
    for (const item of value.split(';')) {
      if (item.trim() === '') continue;
      const colon = item.indexOf(':');
      if (colon <= 0) throw new UserError(`--inject ${JSON.stringify(item)}: expected SOURCE:DESTINATION`, { exitCode: 2 });
      out.push({ source: item.slice(0, colon), destination: item.slice(colon + 1) });
    }
  }
  return out;
}

/**
 * Copy every file of the injections to `<contextDir>/upload/injections/<n>` (readable and writable
 * by whoever assemble runs as, as S2I uploads them) and say where each goes. Symlinks are followed,
 * as S2I's upload turns linked files into files.
 */
export async function stageInjections(specs: InjectionSpec[], contextDir: string, workdir: string): Promise<InjectedFile[]> {
  const files: InjectedFile[] = [];
  const stage = join(contextDir, 'upload', 'injections');
  for (const spec of specs) {
    const src = resolve(spec.source);
    const st = await fsp.stat(src).catch(() => undefined);
    if (!st) throw new UserError(`--inject ${spec.source}: no such file or directory`, { exitCode: 2 });
    const dest = destinationIn(workdir, spec.destination);
    const found = st.isDirectory() ? await filesBelow(src) : [src];
    for (const file of found) {
      const rel = st.isDirectory() ? relative(src, file).split(sep).join('/') : basename(file);
      const target = posix.join(dest, rel);
      // What would split or change the `--mount=` word of the RUN line: whitespace, commas, quotes, `$` and `\`.
      if (/[\s,"'$\\]/.test(target)) throw new UserError(`--inject ${spec.source}: ${JSON.stringify(target)} cannot be a mount target (whitespace, comma, quote, $ or \\)`, { exitCode: 2 });
      if (files.length === MAX_FILES) throw new UserError(`--inject: more than ${MAX_FILES} files; inject an archive instead`, { exitCode: 2 });
      const contextPath = `upload/injections/${files.length}`;
      await fsp.mkdir(stage, { recursive: true });
      await fsp.copyFile(file, join(contextDir, contextPath));
      await fsp.chmod(join(contextDir, contextPath), 0o666);
      files.push({ contextPath, target });
    }
  }
  return files;
}

/** S2I's FixInjectionsWithRelativePath: '' and '.' are the working directory, relative paths below it. */
function destinationIn(workdir: string, destination: string): string {
  const d = destination.trim();
  if (d === '' || posix.normalize(d) === '.') return posix.normalize(workdir || '/');
  return posix.normalize(d.startsWith('/') ? d : posix.join(workdir || '/', d));
}

/** Every file below `dir` (symlinks followed, a directory reached twice through links walked once), sorted. */
async function filesBelow(dir: string, seen = new Set<string>()): Promise<string[]> {
  const here = await fsp.stat(dir);
  const id = `${here.dev}:${here.ino}`;
  if (seen.has(id)) return [];
  seen.add(id);
  const out: string[] = [];
  for (const name of (await fsp.readdir(dir)).sort()) {
    const p = join(dir, name);
    const st = await fsp.stat(p).catch(() => undefined); // a dangling link: nothing to inject
    if (!st) continue;
    if (st.isDirectory()) out.push(...(await filesBelow(p, seen)));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

/** The `--mount` flags of the assemble RUN (read-write: assemble may change them; the changes go too). */
export function injectionMounts(files: InjectedFile[]): string {
  return files.map((f) => `--mount=type=bind,source=${f.contextPath},target=${f.target},rw `).join('');
}
