// The git CLI, as S2I drives it (§B-1, §B-7): clone, checkout, submodules, and the commit metadata
// that becomes the io.openshift.s2i.build.commit.* labels. No credential handling of our own: the
// host's git/ssh configuration decides, and prompts are switched off so a build never hangs.
import { execFile } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { UserError } from '../../oci/errors.js';

export interface CommitInfo {
  id: string;
  ref: string;
  author: string;
  date: string;
  message: string;
}

const GIT_ENV = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', LC_ALL: 'C' };

export function git(args: string[], cwd?: string, signal?: AbortSignal): Promise<{ stdout: string; stderr: string; status: number }> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env: GIT_ENV, maxBuffer: 16 << 20, ...(signal ? { signal } : {}) }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new UserError('git is not installed: it is needed for git sources', { hint: 'install git, or use a plain directory as the source' }));
        return;
      }
      const status = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ stdout: String(stdout), stderr: String(stderr), status });
    });
  });
}

async function gitOk(what: string, args: string[], cwd?: string, signal?: AbortSignal): Promise<string> {
  const r = await git(args, cwd, signal);
  if (r.status !== 0) {
    const last = r.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit status ${r.status}`;
    throw new UserError(`${what}: ${last}`);
  }
  return r.stdout;
}

/** True when `dir` has at least one commit reachable from HEAD. */
export async function hasCommits(dir: string): Promise<boolean> {
  return (await git(['rev-parse', '--verify', '--quiet', 'HEAD'], dir)).status === 0;
}

/** Is `dir` a git working tree or a bare repository (as opposed to a plain directory)? */
export async function isGitRepo(dir: string): Promise<boolean> {
  const r = await git(['rev-parse', '--git-dir'], dir).catch(() => undefined);
  if (!r || r.status !== 0) return false;
  // Only a repository rooted *here* counts: a directory inside some other checkout is a plain directory.
  const top = await git(['rev-parse', '--show-toplevel'], dir);
  if (top.status === 0) return (await realpathOf(top.stdout.trim())) === (await realpathOf(dir));
  const bare = await git(['rev-parse', '--is-bare-repository'], dir);
  return bare.stdout.trim() === 'true';
}

async function realpathOf(p: string): Promise<string> {
  return realpath(p).catch(() => p);
}

export async function cloneRepo(url: string, into: string, opts: { ref?: string; submodules: boolean; signal?: AbortSignal }): Promise<void> {
  // Full clone (no --depth): any ref, tag or SHA must be checkable out, as with S2I.
  await gitOk(`git clone of ${url} failed`, ['clone', '--quiet', url, into], undefined, opts.signal);
  if (!(await hasCommits(into))) throw new UserError(`${url} has no tracking information or commits`, { exitCode: 16 });
  if (opts.ref) await gitOk(`git checkout of ref "${opts.ref}" failed`, ['checkout', '--quiet', opts.ref], into, opts.signal);
  if (opts.submodules) await gitOk('git submodule update failed', ['submodule', 'update', '--init', '--recursive', '--quiet'], into, opts.signal);
}

export async function commitInfo(dir: string): Promise<CommitInfo | undefined> {
  if (!(await hasCommits(dir))) return undefined;
  const one = async (args: string[]) => (await git(args, dir)).stdout.trim();
  return {
    id: await one(['rev-parse', '--verify', 'HEAD']),
    // Literally HEAD when detached (a tag or SHA checked out), as S2I reports it.
    ref: await one(['rev-parse', '--abbrev-ref', 'HEAD']),
    author: await one(['log', '-1', '--format=%an <%ae>']),
    date: await one(['log', '-1', '--format=%ad']),
    message: await one(['log', '-1', '--format=%<(80,trunc)%s']),
  };
}

export async function originUrl(dir: string): Promise<string | undefined> {
  const r = await git(['config', '--get', 'remote.origin.url'], dir);
  return r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : undefined;
}
