// TypeScript face of the native addon (native/build/Release/tsbuild_native.node)
// and of the container runtime helper (native/build/Release/tsbuild-run).
//
// The build output lives in <repo>/native/build/Release whether this module is
// loaded from source (<repo>/native/index.ts via tsx) or compiled
// (<repo>/dist/native/index.js). TSBUILD_NATIVE_DIR overrides the directory.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { childProcessBuiltin } from '../oci/builtins.js';
import { ownSubIds } from './subids.js';
import { nativeBuildDir, nativeMissing } from './build-dir.js';

export { nativeBuildDir } from './build-dir.js';

interface Addon {
  lstatAt(dir: string, names: string[]): Float64Array;
  hashFiles(paths: string[], cb: (err: Error | null, digests: string[]) => void): void;
  mknod(path: string, mode: number, major: number, minor: number): void;
  lgetxattr(path: string, name: string): Buffer | undefined;
  lsetxattr(path: string, name: string, value: Buffer): void;
  llistxattr(path: string): string[];
  lremovexattr(path: string, name: string): void;
}

let addon: Addon | undefined;
let loadError: Error | undefined;

function load(): Addon {
  if (addon) return addon;
  if (loadError) throw loadError;
  const file = join(nativeBuildDir(), 'tsbuild_native.node');
  try {
    const require = createRequire(import.meta.url);
    addon = require(file) as Addon;
    return addon;
  } catch (e) {
    loadError = nativeMissing(file, e);
    throw loadError;
  }
}

/** True when the compiled addon could be loaded. */
export function nativeAvailable(): boolean {
  try {
    load();
    return true;
  } catch {
    return false;
  }
}

/**
 * mknod(2). `mode` includes the file type (fs.constants.S_IFCHR etc.) and permission bits.
 * A whiteout is `mknod(p, S_IFCHR | 0o000, 0, 0)`.
 */
export function mknod(path: string, mode: number, major: number, minor: number): void {
  load().mknod(path, mode, major, minor);
}

/** Numbers per name in lstatAt's answer: mode (-1: gone), size, mtimeMs, ctimeMs, ino, rdev, nlink, dev. */
export const LSTAT_FIELDS = 8;

/**
 * lstat of each of `names` in directory `dir` at once (fstatat relative to one open directory, no
 * Stats object per file); undefined when the addon is not built, for the caller to lstat itself.
 */
export function lstatAt(dir: string, names: string[]): Float64Array | undefined {
  if (!nativeAvailable()) return undefined;
  return load().lstatAt(dir, names);
}

/**
 * sha256 of each file, read on a libuv pool thread: `sha256:<hex>`, or `!<errno code>` for a file
 * that could not be read. Undefined when the addon is not built (the caller hashes itself).
 */
export function hashFiles(paths: string[]): Promise<string[]> | undefined {
  if (!nativeAvailable()) return undefined;
  return new Promise((resolve, reject) => load().hashFiles(paths, (err, digests) => (err ? reject(err) : resolve(digests))));
}

/** lgetxattr(2); undefined when the attribute does not exist (ENODATA). */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  return load().lgetxattr(path, name);
}

/** lsetxattr(2) with flags 0 (create or replace). */
export function lsetxattr(path: string, name: string, value: Buffer): void {
  load().lsetxattr(path, name, value);
}

/** llistxattr(2): attribute names (only those visible to the caller). */
export function llistxattr(path: string): string[] {
  return load().llistxattr(path);
}

/** lremovexattr(2). */
export function lremovexattr(path: string, name: string): void {
  load().lremovexattr(path, name);
}

// ---------------------------------------------------------------------------
// Container runtime for RUN steps.
//
// Node never forks itself (a multi-threaded process must not run arbitrary
// code between fork and exec). runContainer() spawns the single-threaded C
// helper native/build/Release/tsbuild-run through child_process.spawn; the
// helper clones the namespaces, writes id maps, mounts, pivots and execs.
// See native/src/run.c for the process structure and native/README.md.
// ---------------------------------------------------------------------------


export interface IdMapEntry {
  containerId: number;
  hostId: number;
  size: number;
}

export interface IdMap {
  uidMap: IdMapEntry[];
  gidMap: IdMapEntry[];
}

export interface MountSpec {
  /** bind: a host path (cache dirs, secrets, context); tmpfs: a fresh tmpfs. */
  type: 'bind' | 'tmpfs';
  /** Host path (bind only). */
  source?: string;
  /** Absolute path inside the rootfs; created (in a throw-away layer) when missing. */
  target: string;
  readonly?: boolean;
  /** tmpfs: mount data such as `size=64m`, `mode=1777`. bind: ignored (always recursive). */
  options?: string[];
}

export type RootfsSpec =
  | { lowerDirs: string[]; upperDir: string; workDir: string }
  | { dir: string };

export type Isolation = 'oci' | 'rootless' | 'chroot';

export interface RunSpec {
  /**
   * Overlay: `lowerDirs` lowest first (pass short link paths: the option string is
   * limited to one page), `upperDir` receives exactly what the command changed,
   * `workDir` an empty dir on the upper's filesystem (the helper uses
   * subdirectories of it and empties it again). Or a plain `dir` (copy snapshot).
   */
  rootfs: RootfsSpec;
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids?: number[];
  hostname?: string;
  network: 'none' | 'host' | 'private';
  isolation: Isolation;
  /** false: run without the helper's syscall filter (`--security-opt seccomp=unconfined`). Default true. */
  seccomp?: boolean;
  /** Rootless: default from /etc/subuid+/etc/subgid (newuidmap/newgidmap), else a single-id map. */
  idMap?: IdMap;
  mounts?: MountSpec[];
  /** Host files bind-mounted read-only over /etc/hosts and /etc/resolv.conf. */
  etcHosts?: string;
  resolvConf?: string;
  stdout: (chunk: Buffer) => void;
  stderr: (chunk: Buffer) => void;
  /** Abort kills the whole pid namespace; the promise rejects with an AbortError after cleanup. */
  signal?: AbortSignal;
}

export interface RunResult {
  /** The command's exit code; 128+n when killed by signal n. */
  exitCode: number;
  /** Signal name (e.g. 'SIGKILL') when the command was killed by a signal. */
  signal?: string;
  /** What the runtime could not set up (chroot isolation degrades instead of failing). */
  warnings?: string[];
}

/** Error for a step that could not be set up or exec'd (code ERR_TSBUILD_RUN). */
export class RunError extends Error {
  readonly code = 'ERR_TSBUILD_RUN';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'RunError';
  }
}

/** Path of the runtime helper executable. */
export function runHelperPath(): string {
  return join(nativeBuildDir(), 'tsbuild-run');
}

const signalNames = new Map<number, string>(
  Object.entries(osConstants.signals).map(([name, num]) => [num as number, name]),
);

/**
 * The id map rootless mode uses when the caller gives none: container root =
 * the current user, 1..n = the user's /etc/subuid (/etc/subgid) range; without
 * a range, a single-id map (then only uid/gid 0 exist inside). As root:
 * an identity map of the first 65536 ids.
 */
export function defaultRootlessIdMap(): { idMap: IdMap; viaHelpers: boolean } {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  if (uid === 0) {
    const ident = [{ containerId: 0, hostId: 0, size: 65536 }];
    return { idMap: { uidMap: ident, gidMap: ident }, viaHelpers: false };
  }
  const { uid: su, gid: sg } = ownSubIds(uid);
  if (su && sg) {
    return {
      idMap: {
        uidMap: [
          { containerId: 0, hostId: uid, size: 1 },
          { containerId: 1, hostId: su.start, size: su.count },
        ],
        gidMap: [
          { containerId: 0, hostId: gid, size: 1 },
          { containerId: 1, hostId: sg.start, size: sg.count },
        ],
      },
      viaHelpers: true,
    };
  }
  return {
    idMap: {
      uidMap: [{ containerId: 0, hostId: uid, size: 1 }],
      gidMap: [{ containerId: 0, hostId: gid, size: 1 }],
    },
    viaHelpers: false,
  };
}

function isSelfMap(m: IdMap): boolean {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  return (
    m.uidMap.length === 1 &&
    m.gidMap.length === 1 &&
    m.uidMap[0]!.hostId === uid &&
    m.uidMap[0]!.size === 1 &&
    m.gidMap[0]!.hostId === gid &&
    m.gidMap[0]!.size === 1
  );
}

function checkId(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xfffffffe) {
    throw new TypeError(`${what} must be a non-negative 32-bit integer`);
  }
  return v;
}

function noNul(what: string, s: string): string {
  if (typeof s !== 'string' || s.includes('\0')) throw new TypeError(`${what} must be a string without NUL bytes`);
  return s;
}

/** Translate a RunSpec into the helper's argv. Exported for tests. */
export function helperArgs(spec: RunSpec): string[] {
  const a: string[] = ['--mode', spec.isolation, '--net', spec.network];
  if (spec.seccomp === false) a.push('--no-seccomp');
  if (!['oci', 'rootless', 'chroot'].includes(spec.isolation)) throw new TypeError(`bad isolation ${spec.isolation}`);
  if (!['none', 'host', 'private'].includes(spec.network)) throw new TypeError(`bad network ${spec.network}`);
  if ('dir' in spec.rootfs) {
    a.push('--dir', noNul('rootfs.dir', spec.rootfs.dir));
  } else {
    if (spec.isolation === 'chroot') throw new TypeError('chroot isolation needs rootfs.dir (a copy snapshot)');
    for (const l of spec.rootfs.lowerDirs) a.push('--lower', noNul('lowerDir', l));
    a.push('--upper', noNul('upperDir', spec.rootfs.upperDir), '--work', noNul('workDir', spec.rootfs.workDir));
  }
  if (!spec.cwd.startsWith('/')) throw new TypeError('cwd must be absolute');
  a.push('--cwd', noNul('cwd', spec.cwd));
  a.push('--uid', String(checkId('uid', spec.uid)), '--gid', String(checkId('gid', spec.gid)));
  for (const g of spec.additionalGids ?? []) a.push('--group', String(checkId('additionalGids[]', g)));
  if (spec.hostname !== undefined) a.push('--hostname', noNul('hostname', spec.hostname));
  if (spec.etcHosts !== undefined) a.push('--hosts', noNul('etcHosts', spec.etcHosts));
  if (spec.resolvConf !== undefined) a.push('--resolv', noNul('resolvConf', spec.resolvConf));
  if (spec.isolation === 'rootless') {
    let idMap = spec.idMap;
    let viaHelpers: boolean;
    if (idMap) viaHelpers = (process.getuid?.() ?? 0) !== 0 && !isSelfMap(idMap);
    else ({ idMap, viaHelpers } = defaultRootlessIdMap());
    for (const e of idMap.uidMap) a.push('--uidmap', `${checkId('containerId', e.containerId)}:${checkId('hostId', e.hostId)}:${checkId('size', e.size)}`);
    for (const e of idMap.gidMap) a.push('--gidmap', `${checkId('containerId', e.containerId)}:${checkId('hostId', e.hostId)}:${checkId('size', e.size)}`);
    if (viaHelpers) a.push('--newidmap');
  }
  for (const m of spec.mounts ?? []) {
    if (!m.target.startsWith('/')) throw new TypeError(`mount target ${m.target} must be absolute`);
    if (m.type === 'bind') {
      if (!m.source) throw new TypeError(`bind mount on ${m.target} needs a source`);
      a.push('--mount', 'bind', noNul('mount source', m.source), noNul('mount target', m.target), m.readonly ? 'ro' : 'rw', '');
    } else if (m.type === 'tmpfs') {
      const opts = (m.options ?? []).filter((o) => o !== 'ro' && o !== 'rw').join(',');
      a.push('--mount', 'tmpfs', 'tmpfs', noNul('mount target', m.target), m.readonly ? 'ro' : 'rw', noNul('mount options', opts));
    } else {
      throw new TypeError(`unsupported mount type ${(m as MountSpec).type}`);
    }
  }
  for (const e of spec.env) a.push('--env', noNul('env', e));
  if (spec.args.length === 0) throw new TypeError('args must not be empty');
  a.push('--', ...spec.args.map((x) => noNul('args', x)));
  return a;
}

function abortError(signal: AbortSignal): Error {
  const e = new Error('The operation was aborted', { cause: signal.reason }) as NodeJS.ErrnoException;
  e.name = 'AbortError';
  e.code = 'ABORT_ERR';
  return e;
}

const HELPER_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };

/**
 * Run one command in a fresh container over the given rootfs. Resolves with
 * the command's exit status once the container and everything it started is
 * gone and the helper's scratch dirs are removed; rejects with RunError when
 * the container could not be set up or the command could not be exec'd.
 */
export function runContainer(spec: RunSpec): Promise<RunResult> {
  return new Promise<RunResult>((resolve, reject) => {
    const { signal } = spec;
    if (signal?.aborted) return reject(abortError(signal));
    let args: string[];
    try {
      args = helperArgs(spec);
    } catch (e) {
      return reject(e);
    }
    const helper = runHelperPath();
    const child = childProcessBuiltin().spawn(helper, args, {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env: HELPER_ENV,
    });
    const warnings: string[] = [];
    let error: string | undefined;
    let final: { kind: 'exit' | 'signal'; n: number } | undefined;
    let statusBuf = '';
    const onStatusLine = (line: string) => {
      const sp = line.indexOf(' ');
      const kind = sp < 0 ? line : line.slice(0, sp);
      const rest = sp < 0 ? '' : line.slice(sp + 1);
      if (kind === 'warn') warnings.push(rest);
      else if (kind === 'error') error ??= rest;
      else if (kind === 'exit' || kind === 'signal') final = { kind, n: Number(rest) };
    };
    const status = child.stdio[3] as Readable;
    status.setEncoding('utf8');
    status.on('data', (s: string) => {
      statusBuf += s;
      let i;
      while ((i = statusBuf.indexOf('\n')) >= 0) {
        onStatusLine(statusBuf.slice(0, i));
        statusBuf = statusBuf.slice(i + 1);
      }
    });
    child.stdout!.on('data', (b: Buffer) => spec.stdout(b));
    child.stderr!.on('data', (b: Buffer) => spec.stderr(b));

    let aborted = false;
    const onAbort = () => {
      aborted = true;
      child.kill('SIGTERM'); // the helper SIGKILLs the container init, waits, cleans up
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    let spawnError: Error | undefined;
    child.on('error', (e) => {
      // Spawning a missing helper fails with a bare ENOENT naming no cause: say what is missing.
      spawnError = (e as NodeJS.ErrnoException).code === 'ENOENT' ? nativeMissing(helper, e) : e;
    });
    let settled = false;
    const finish = (code: number | null, sig: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (statusBuf) onStatusLine(statusBuf);
      if (spawnError) return reject(spawnError);
      if (aborted && signal) return reject(abortError(signal));
      if (error !== undefined) {
        const ec = final?.kind === 'exit' ? final.n : (code ?? 125);
        return reject(new RunError(error, ec));
      }
      const result: RunResult = final
        ? final.kind === 'exit'
          ? { exitCode: final.n }
          : { exitCode: 128 + final.n, signal: signalNames.get(final.n) ?? `SIG${final.n}` }
        : sig
          ? { exitCode: 128 + (osConstants.signals[sig] ?? 0), signal: sig }
          : { exitCode: code ?? 125 };
      if (warnings.length) result.warnings = warnings;
      resolve(result);
    };
    // 'close' waits for the pipes; they can only outlive the helper when a
    // process escaped a missing pid namespace (chroot fallback): bound that wait.
    child.on('close', finish);
    child.on('exit', (code, sig) => {
      setTimeout(() => {
        if (settled) return;
        for (const s of [child.stdout, child.stderr, status]) s?.destroy();
        finish(code, sig);
      }, 2000).unref();
    });
  });
}

export interface IsolationProbe {
  ok: boolean;
  why?: string;
}

/** What works on this machine for the current user (for `tsbuild info`). */
export function detectIsolation(): { oci: IsolationProbe; rootless: IsolationProbe; chroot: IsolationProbe } {
  const helper = runHelperPath();
  if (!existsSync(helper)) {
    const no = { ok: false, why: `runtime helper missing (${helper}); run "npm run build:native"` };
    return { oci: no, rootless: no, chroot: no };
  }
  const probe = (mode: Isolation): IsolationProbe => {
    const args = ['--probe', '--mode', mode, '--net', 'none'];
    if (mode === 'rootless') {
      const { idMap, viaHelpers } = defaultRootlessIdMap();
      for (const e of idMap.uidMap) args.push('--uidmap', `${e.containerId}:${e.hostId}:${e.size}`);
      for (const e of idMap.gidMap) args.push('--gidmap', `${e.containerId}:${e.hostId}:${e.size}`);
      if (viaHelpers) args.push('--newidmap');
    }
    const r = childProcessBuiltin().spawnSync(helper, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env: HELPER_ENV, timeout: 10000 });
    if (r.status === 0) return { ok: true };
    const lines = `${r.output[3] ?? ''}`.split('\n').filter((l) => l.startsWith('error '));
    const why = lines[0]?.slice(6) ?? r.error?.message ?? `probe exited with ${r.status ?? r.signal}`;
    return { ok: false, why };
  };
  const oci: IsolationProbe =
    (process.getuid?.() ?? 0) === 0 ? probe('oci') : { ok: false, why: 'oci isolation requires root (use rootless)' };
  return { oci, rootless: probe('rootless'), chroot: probe('chroot') };
}
