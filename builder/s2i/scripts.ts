// Locating the S2I scripts (§C), each script on its own, first hit wins:
//   1. --scripts-url URL/<name>   2. the source's .s2i/bin/<name> (.sti/bin deprecated)
//   3. the image's io.openshift.s2i.scripts-url label (io.s2i.scripts-url, env STI_SCRIPTS_URL):
//      the builder's, or the runtime image's for assemble-runtime (§K-2).
// `image://` entries are trusted without looking (S2I does the same; a missing one fails when run).
// Scripts from files, URLs or the source are placed in <work>/upload/scripts and run from DEST/scripts.
import { promises as fsp } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { UserError } from '../../oci/errors.js';

export type ScriptName = 'assemble' | 'run' | 'save-artifacts' | 'usage' | 'assemble-runtime';

export interface ResolvedScript {
  /** where it is run from inside the container */
  path: string;
  /** image: already in the image; upload: travels in upload/scripts (DEST/scripts/<name>) */
  origin: 'image' | 'upload';
  /** human-readable: which rule found it */
  from: string;
  /** which rule found it */
  rule: 'scripts-url' | 'source' | 'label' | 'default';
}

export type Scripts = Partial<Record<ScriptName, ResolvedScript>>;

export interface ScriptOptions {
  names: ScriptName[];
  required: ScriptName[];
  scriptsUrl?: string;
  /** prepared sources (upload/src): .s2i/bin entries are moved out of it */
  srcDir?: string;
  /** upload/scripts */
  uploadDir: string;
  dest: string;
  /** the image's labels and env (undefined when the builder could not be inspected) */
  labels?: Record<string, string>;
  env?: string[];
  /** dockerfile-mode fallback when nothing else names a script (§C-8): e.g. /usr/libexec/s2i */
  imageFallback?: string;
  /**
   * Leave the "could not download any scripts" check to the caller (checkScriptsUrlUsed), which
   * then makes it over the scripts of both images, as S2I does with a runtime image.
   */
  deferScriptsUrlCheck?: boolean;
  /** whose labels these are, for the hint of a missing script (default builder) */
  imageRole?: 'builder' | 'runtime';
  warn: (m: string) => void;
  signal?: AbortSignal;
}

/** The builder's own scripts URL: label, deprecated label, deprecated env var (§C-1.3). */
export function builderScriptsUrl(labels: Record<string, string> | undefined, env: string[] | undefined): string | undefined {
  const l = labels?.['io.openshift.s2i.scripts-url'] || labels?.['io.s2i.scripts-url'];
  if (l) return l;
  const e = env?.find((x) => x.startsWith('STI_SCRIPTS_URL='));
  return e ? e.slice('STI_SCRIPTS_URL='.length) || undefined : undefined;
}

function joinScript(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** Fetch `name` from a file:// or http(s):// scripts URL into uploadDir; false when it is not there. */
async function download(url: string, name: string, uploadDir: string, signal?: AbortSignal): Promise<boolean> {
  const out = join(uploadDir, name);
  if (/^file:\/\//i.test(url)) {
    const dir = url.slice('file://'.length);
    try {
      await fsp.copyFile(join(resolvePath(dir), name), out);
    } catch {
      return false;
    }
  } else if (/^https?:\/\//i.test(url)) {
    let res: Response;
    try {
      res = await fetch(joinScript(url, name), signal ? { signal } : {});
    } catch {
      return false;
    }
    if (res.status !== 200 && res.status !== 201) return false;
    await fsp.writeFile(out, Buffer.from(await res.arrayBuffer()));
  } else return false;
  await fsp.chmod(out, 0o755);
  return true;
}

function imagePath(url: string): string | undefined {
  return /^image:\/\//i.test(url) ? url.slice('image://'.length) : undefined;
}

/** A file:// or http(s):// --scripts-url that gave none of the scripts is an error (§C-7). */
export function checkScriptsUrlUsed(scriptsUrl: string | undefined, ...found: Scripts[]): void {
  if (!scriptsUrl || imagePath(scriptsUrl) !== undefined) return;
  if (found.some((f) => Object.values(f).some((s) => s?.rule === 'scripts-url'))) return;
  throw new UserError(`could not download any scripts from URL ${scriptsUrl}`);
}

export async function resolveScripts(o: ScriptOptions): Promise<Scripts> {
  await fsp.mkdir(o.uploadDir, { recursive: true });
  const found: Scripts = {};
  const dest = o.dest.replace(/\/+$/, '') || '/';
  const upload = (name: ScriptName, from: string, rule: ResolvedScript['rule']): ResolvedScript => ({ path: `${dest === '/' ? '' : dest}/scripts/${name}`, origin: 'upload', from, rule });
  // 1. --scripts-url
  if (o.scriptsUrl) {
    const img = imagePath(o.scriptsUrl);
    for (const name of o.names) {
      const from = `--scripts-url ${o.scriptsUrl}`;
      if (img !== undefined) found[name] = { path: joinScript(img, name), origin: 'image', from, rule: 'scripts-url' };
      else if (await download(o.scriptsUrl, name, o.uploadDir, o.signal)) found[name] = upload(name, from, 'scripts-url');
    }
    if (!o.deferScriptsUrlCheck) checkScriptsUrlUsed(o.scriptsUrl, found);
  }
  // 2. the source's .s2i/bin (moved, so DEST/src/.s2i/bin/<name> is absent, as in S2I)
  if (o.srcDir) {
    for (const name of o.names) {
      for (const dir of ['.s2i/bin', '.sti/bin']) {
        const p = join(o.srcDir, dir, name);
        const st = await fsp.stat(p).catch(() => undefined);
        if (!st?.isFile()) continue;
        if (found[name]) break;
        if (dir === '.sti/bin') o.warn(`.sti/bin/${name} is deprecated: use .s2i/bin/${name}`);
        await fsp.rename(p, join(o.uploadDir, name));
        await fsp.chmod(join(o.uploadDir, name), 0o755);
        found[name] = upload(name, `source ${dir}/${name}`, 'source');
        break;
      }
    }
  }
  // 3. the builder image's scripts URL
  const label = builderScriptsUrl(o.labels, o.env);
  for (const name of o.names) {
    if (found[name]) continue;
    if (label) {
      const img = imagePath(label);
      if (img !== undefined) found[name] = { path: joinScript(img, name), origin: 'image', from: `image label ${label}`, rule: 'label' };
      else if (await download(label, name, o.uploadDir, o.signal)) found[name] = upload(name, `image label ${label}`, 'label');
    }
    if (!found[name] && o.imageFallback) found[name] = { path: joinScript(o.imageFallback, name), origin: 'image', from: `default ${o.imageFallback}`, rule: 'default' };
  }
  const missing = o.required.filter((n) => !found[n]);
  if (missing.length > 0) {
    throw new UserError(`failed to install [${missing.join(' ')}]`, {
      exitCode: 11,
      hint: `set the io.openshift.s2i.scripts-url label on the ${o.imageRole ?? 'builder'} image, provide .s2i/bin/<script> in the source, or pass --scripts-url`,
    });
  }
  return found;
}
