// Rootless file work inside a user namespace. An unprivileged user with /etc/subuid and /etc/subgid
// ranges runs RUN steps with container uid 0 = the user and 1.. = the range; files a step makes for
// uid 1000 are then owned by a subordinate id on the host, which the user can neither chown to nor
// (for private modes) read or delete. So unpacking snapshots, scanning an upper dir into a layer and
// removing it happen in a helper process in the same kind of namespace (`unshare` from util-linux,
// which maps the ranges through newuidmap/newgidmap), where those ids are real.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Range { start: number; count: number }

function subRange(file: string, name: string, id: number): Range | undefined {
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [who, s, c] = line.trim().split(':');
      if ((who === name || who === String(id)) && Number(c) > 0) return { start: Number(s), count: Number(c) };
    }
  } catch {
    /* no file */
  }
  return undefined;
}

let cached: { uid: Range; gid: Range } | null | undefined;

/** The subordinate ranges when this (non-root) process should do file work in a user namespace. */
export function usernsRanges(): { uid: Range; gid: Range } | undefined {
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  const uid = process.getuid?.() ?? 0;
  if (uid === 0 || process.env['TSBUILD_USERNS_FILES'] === '0') return undefined;
  let name = '';
  try {
    name = userInfo().username;
  } catch {
    /* no passwd entry */
  }
  const u = subRange('/etc/subuid', name, uid);
  const g = subRange('/etc/subgid', name, uid);
  if (u && g && spawnSync('unshare', ['--version'], { stdio: 'ignore' }).status === 0) cached = { uid: u, gid: g };
  return cached ?? undefined;
}

export type UsernsOp =
  | { op: 'unpack'; blob: string; mediaType: string; dest: string }
  | {
      op: 'commit';
      upper: string;
      blobsDir: string;
      tmpDir: string;
      format: 'oci' | 'docker';
      compression?: 'gzip' | 'zstd' | 'none';
      level?: number;
      timestamp?: number;
      clampMtime?: number;
      /** The opaque xattr the overlay mount honoured. */
      opaqueXattr?: string;
      /** After writing the layer, make the upper dir fit to become its snapshot (cache/upper-snapshot.ts). */
      keepAsSnapshot?: boolean;
    }
  | { op: 'rm'; paths: string[] };

const here = dirname(fileURLToPath(import.meta.url));

/** Run one operation in the worker (cache/userns-worker) inside a user namespace; resolves with its JSON answer. */
export function inUserns<T>(op: UsernsOp): Promise<T> {
  const r = usernsRanges();
  if (!r) return Promise.reject(new Error('no subordinate id ranges for a user namespace'));
  const worker = join(here, 'userns-worker' + extname(fileURLToPath(import.meta.url)));
  const args = [
    '--map-root-user',
    `--map-users=${r.uid.start},1,${r.uid.count}`,
    `--map-groups=${r.gid.start},1,${r.gid.count}`,
    '--',
    process.execPath,
    ...process.execArgv,
    worker,
    JSON.stringify(op),
  ];
  return new Promise<T>((resolve, reject) => {
    const child = spawn('unshare', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      let answer: { ok: boolean; value?: T; error?: string; userError?: boolean } | undefined;
      try {
        answer = JSON.parse(last) as typeof answer;
      } catch {
        /* handled below */
      }
      if (code === 0 && answer?.ok) return resolve(answer.value as T);
      const e = new Error(`user namespace ${op.op} failed: ${answer?.error ?? (err.trim() || `exit ${code}`)}`);
      if (answer?.userError) e.name = 'UserError';
      reject(e);
    });
  });
}
