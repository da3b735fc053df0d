// Rootless file work inside a user namespace. An unprivileged user with /etc/subuid and /etc/subgid
// ranges runs RUN steps with container uid 0 = the user and 1.. = the range; files a step makes for
// uid 1000 are then owned by a subordinate id on the host, which the user can neither chown to nor
// (for private modes) read or delete. So unpacking snapshots, scanning an upper dir into a layer and
// removing it (and reading snapshot paths this user may not, cache/rootfs-host-fs.ts) happen in a helper
// process in the same kind of namespace (`unshare` from util-linux, which maps the ranges through
// newuidmap/newgidmap), where those ids are real.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childProcessBuiltin } from '../oci/builtins.js';
import { UserError } from '../oci/errors.js';
import { usernsRanges, type Range } from './userns-ranges.js';
import type { PeekOp } from './rootfs-host-fs.js';

export { usernsRanges, type Range };

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
      /** See LayerWriteOptions.reuseChunks. */
      reuseChunks?: boolean;
      /** The opaque xattr the overlay mount honoured. */
      opaqueXattr?: string;
      /** After writing the layer, make the upper dir fit to become its snapshot (cache/upper-snapshot.ts). */
      keepAsSnapshot?: boolean;
    }
  | { op: 'rm'; paths: string[] }
  /** cache/rootfs-host-fs.ts: one read of a snapshot path this user may not read itself */
  | ({ op: 'peek' } & PeekOp);

const here = dirname(fileURLToPath(import.meta.url));

interface Answer { id: number; ok: boolean; value?: unknown; error?: string; userError?: boolean; hint?: string; exitCode?: number }
interface Waiting { op: UsernsOp['op']; resolve(v: unknown): void; reject(e: Error): void }

/**
 * One worker process (cache/userns-worker) inside a user namespace, started on first use and kept
 * for the rest of the process: a RUN step needs it once or twice (commit, remove), and starting
 * Node with the layer code costs ~0.3 s of CPU each time. Requests are JSON lines on its stdin,
 * answers JSON lines on its stdout, matched by id. While nothing is asked it does not keep this
 * process alive (unref'd); once this process has nothing else to do, close() ends it.
 */
class UsernsWorker {
  private child: ChildProcessWithoutNullStreams | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;

  request<T>(op: UsernsOp, r: { uid: Range; gid: Range }): Promise<T> {
    const child = this.child ?? this.start(r);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { op: op.op, resolve: resolve as (v: unknown) => void, reject });
      this.hold(true);
      child.stdin.write(JSON.stringify({ id, op }) + '\n');
    });
  }

  private start(r: { uid: Range; gid: Range }): ChildProcessWithoutNullStreams {
    const worker = join(here, 'userns-worker' + extname(fileURLToPath(import.meta.url)));
    const args = [
      '--map-root-user',
      `--map-users=${r.uid.start},1,${r.uid.count}`,
      `--map-groups=${r.gid.start},1,${r.gid.count}`,
      '--',
      process.execPath,
      ...process.execArgv,
      worker,
    ];
    const child = childProcessBuiltin().spawn('unshare', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    let err = '';
    let buf = '';
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let a: Answer;
        try {
          a = JSON.parse(line) as Answer;
        } catch {
          continue; // not an answer
        }
        const w = this.waiting.get(a.id);
        if (!w) continue;
        this.waiting.delete(a.id);
        if (a.ok) w.resolve(a.value);
        // The user's to fix (a file name no layer can hold) stays a UserError, as it would be in process.
        else if (a.userError) w.reject(new UserError(a.error ?? '', { hint: a.hint, exitCode: a.exitCode }));
        else w.reject(new Error(`user namespace ${w.op} failed: ${a.error}`));
      }
      if (this.waiting.size === 0) this.hold(false);
    });
    // Writing to a worker that already died: its exit below reports the failure.
    child.stdin.on('error', () => undefined);
    const fail = (why: string) => {
      if (this.child === child) this.child = undefined;
      for (const w of this.waiting.values()) w.reject(new Error(`user namespace ${w.op} failed: ${err.trim() || why}`));
      this.waiting.clear();
    };
    child.on('error', (e) => fail(e.message));
    child.on('close', (code, signal) => fail(signal ? `killed by ${signal}` : `exit ${code}`));
    return child;
  }

  /**
   * Let the worker finish: its stdin ends, and the process waits for it to exit (so it is reaped,
   * its CPU time counted as this process's children's, and no helper outlives a build).
   */
  close(): void {
    const c = this.child;
    if (!c) return;
    this.child = undefined;
    c.stdin.end();
    c.ref();
  }

  /** Keep the event loop alive only while an answer is awaited. */
  private hold(on: boolean): void {
    const c = this.child;
    if (!c) return;
    for (const h of [c, c.stdin, c.stdout, c.stderr] as { ref(): void; unref(): void }[]) {
      if (on) h.ref();
      else h.unref();
    }
  }
}

let shared: UsernsWorker | undefined;

/** Run one operation in the user-namespace worker (cache/userns-worker); resolves with its answer. */
export function inUserns<T>(op: UsernsOp): Promise<T> {
  const r = usernsRanges();
  if (!r) return Promise.reject(new Error('no subordinate id ranges for a user namespace'));
  if (!shared) {
    shared = new UsernsWorker();
    // When nothing else is left to do; not on process.exit(), where the closed pipe ends it anyway.
    process.on('beforeExit', () => shared?.close());
  }
  return shared.request<T>(op, r);
}
