// Runtime artifacts (§K-1, §K-2): `-a SRC[:DST]` (or the runtime image's
// io.openshift.s2i.assemble-input-files label) names what is taken out of the assembled builder
// image and placed below the runtime image's WORKDIR. Parsing follows S2I's VolumeList (`;` lists,
// the last `:` splits, quotes trimmed, paths cleaned); the checks are those of its Prepare step.
// Staging copies each SRC out of the assembled image into the build context with S2I's upload
// modes, so a plain COPY (owner 0:0, as Docker's archive upload gives them) puts them in place.
// The files come from the assembled image's snapshots (cache/rootfs-copy-out.ts; rootless, private
// ones through the view's user-namespace fallback).
import { promises as fsp } from 'node:fs';
import { join, posix } from 'node:path';
import { copyOutOfView } from '../../cache/rootfs-copy-out.js';
import { RootfsView } from '../../cache/rootfs-view.js';
import { UserError } from '../../oci/errors.js';

export interface RuntimeArtifact {
  /** absolute path in the assembled builder image (cleaned) */
  source: string;
  /** directory below the runtime image's WORKDIR ('.' = the WORKDIR itself) */
  destination: string;
}

/** Characters S2I refuses in artifact paths; `*`, `?` and `[` are why wildcards are "unsupported". */
const INVALID_CHARS = /[;*?"<>|%#$!+{}&[\],'`]/;

/** Go's path.Clean for the cases that matter here: '' is '.', no trailing '/', `..` folded. */
function cleanPath(p: string): string {
  if (p === '') return '.';
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

function trimQuotes(s: string): string {
  return s.replace(/^["']+/, '').replace(/["']+$/, '');
}

/**
 * Each value is a `;`-separated list of SRC[:DST]. `what` names the origin in messages (the flag or
 * the label) and `exitCode` is what a bad entry exits with (2 for flags, usage errors).
 */
export function parseRuntimeArtifacts(values: string[], what: string, exitCode: number): RuntimeArtifact[] {
  const out: RuntimeArtifact[] = [];
  const fail = (item: string, why: string): never => {
    throw new UserError(`${what} ${JSON.stringify(item)}: ${why}`, { exitCode });
  };
  for (const value of values) {
    for (const item of value.split(';')) {
      if (item === '') fail(value, 'empty entry, expected SOURCE[:DESTINATION]');
      const colon = item.lastIndexOf(':');
      const rawSource = colon < 0 ? item : item.slice(0, colon);
      const rawDestination = colon < 0 ? '' : item.slice(colon + 1);
      const source = cleanPath(trimQuotes(rawSource));
      const destination = cleanPath(trimQuotes(rawDestination));
      if (INVALID_CHARS.test(source) || INVALID_CHARS.test(destination)) fail(item, 'invalid characters in the path (wildcards are not supported)');
      if (!source.startsWith('/')) fail(item, 'source must be an absolute path');
      if (source === '/') fail(item, 'source cannot be the whole file system');
      if (destination.startsWith('/')) fail(item, 'destination must be a relative path');
      if (destination.startsWith('..')) fail(item, "destination cannot start with '..'");
      const lands = landingPath({ source, destination });
      if (out.some((o) => landingPath(o) === lands)) fail(item, `another artifact already lands at ${lands} (DESTINATION is a directory; artifacts cannot be renamed)`);
      out.push({ source, destination });
    }
  }
  return out;
}

/** Where an artifact ends up, relative to the WORKDIR: DST/<name of SRC>. */
export function landingPath(a: RuntimeArtifact): string {
  return posix.join(a.destination, posix.basename(a.source));
}

/**
 * The modes S2I uploads artifacts with (its tar ChmodAdapter): directories and owner-executable
 * files 0755, other files 0644; setuid/setgid/sticky bits are kept. S2I's code tests the group
 * execute bit (0010) under a comment saying S_IXUSR; its documentation and ours say owner-executable,
 * which is what this does (the two differ only for files like 0700 or 0610).
 */
export function normalisedMode(isDir: boolean, mode: number): number {
  const special = mode & 0o7000;
  if (isDir) return special | 0o755;
  return special | (mode & 0o100 ? 0o755 : 0o644);
}

/**
 * Copy every artifact out of the assembled image (its snapshot dirs, `layers`) into
 * `stage`/DST/<name of SRC>, then give the copies S2I's modes. Symlinks stay links; devices, fifos
 * and sockets are left out with a warning. Returns the number of entries written.
 */
export async function stageRuntimeArtifacts(layers: string[], artifacts: RuntimeArtifact[], stage: string, image: string, warn: (m: string) => void): Promise<number> {
  let written = 0;
  for (const a of artifacts) {
    await makeDirs(stage, a.destination, `artifact ${a.source}`);
    const target = join(stage, landingPath(a));
    // S2I renames each artifact into DST: one landing inside another one's tree on a name that is
    // taken fails there too.
    if (await fsp.lstat(target).then(() => true, () => false)) {
      throw new UserError(`runtime artifact ${a.source}: ${landingPath(a)} is already taken by another artifact`);
    }
    const copied = await copyOutOfView(new RootfsView(layers), a.source, target, normalisedMode);
    if (!copied.found) throw new UserError(`runtime artifact ${a.source}: no such file or directory in the assembled image (${image})`);
    for (const s of copied.skipped) warn(`runtime artifact ${a.source}: ${s} is not copied`);
    written += copied.entries;
  }
  return written;
}

/**
 * mkdir -p of `rel` below `stage`, refusing to go through anything an artifact put there that is
 * not a directory: a staged symlink comes from the image and may point anywhere on the host.
 * `what` names the thing being placed, for the message.
 */
export async function makeDirs(stage: string, rel: string, what: string): Promise<void> {
  let dir = stage;
  for (const part of rel.split('/').filter((p) => p !== '' && p !== '.')) {
    dir = join(dir, part);
    const st = await fsp.lstat(dir).catch(() => undefined);
    if (!st) {
      await fsp.mkdir(dir);
      await fsp.chmod(dir, 0o755); // as every uploaded directory, whatever the umask
    } else if (!st.isDirectory()) throw new UserError(`runtime ${what}: ${rel} is not a directory (another artifact put a ${st.isSymbolicLink() ? 'symlink' : 'file'} there)`);
  }
}
