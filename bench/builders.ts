// The two builders under test, driven through their command lines with the same inputs and
// storage on the same file system.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { measure, type Measured } from './measure.js';
import { treeFromDir, treeFromLayout, type Tree } from './tree.js';

export interface BuildRequest {
  context: string;
  file: string;
  tag: string;
  noCache?: boolean;
}

export interface Builder {
  readonly name: 'tsbuild' | 'buildah';
  /** Import the base image from a docker-archive file under `name`. */
  importBase(archive: string, name: string): void;
  build(req: BuildRequest): Promise<Measured>;
  push(tag: string, dest: string): Promise<Measured>;
  /** The image's files under `prefixes`, read from its output (tsbuild) or a mounted container (buildah). */
  tree(tag: string, prefixes: string[], scratch: string): Promise<Tree>;
  /** Digests of the image's compressed layers as stored, when the builder keeps compressed blobs (tsbuild). */
  storedLayerDigests?(tag: string): string[];
  /** Where a check failure should point. */
  describe(): string;
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env, maxBuffer: 64 << 20 });
}

function must(m: Measured, what: string): Measured {
  if (m.code !== 0) throw new Error(`${what} failed (exit ${m.code}): ${m.stderr.trim().split('\n').slice(-5).join('\n')}`);
  return m;
}

export class Tsbuild implements Builder {
  readonly name = 'tsbuild' as const;
  /** `command` is the `tsbuild` users run (bin/tsbuild of the benchmark's private copy). */
  constructor(private readonly root: string, private readonly command: string, private readonly extraBuildArgs: string[] = []) {}

  private env(): NodeJS.ProcessEnv {
    return { ...process.env, TSBUILD_ROOT: this.root };
  }

  importBase(archive: string, name: string): void {
    const id = run(this.command, ['pull', '-q', `docker-archive:${archive}`], this.env()).trim().split('\n').pop()!;
    run(this.command, ['tag', id, name], this.env());
  }

  async build(req: BuildRequest): Promise<Measured> {
    const args = ['build', '-q', '--pull=never', '-f', req.file, '-t', req.tag, ...this.extraBuildArgs];
    if (req.noCache) args.push('--no-cache');
    args.push(req.context);
    return must(await measure(this.command, args, { env: this.env() }), `tsbuild build ${req.tag}`);
  }

  async push(tag: string, dest: string): Promise<Measured> {
    return must(await measure(this.command, ['push', '-q', '--tls-verify=false', tag, dest], { env: this.env() }), `tsbuild push ${tag}`);
  }

  async tree(tag: string, prefixes: string[], scratch: string): Promise<Tree> {
    const layout = join(scratch, 'tsbuild-layout');
    rmSync(layout, { recursive: true, force: true });
    run(this.command, ['push', '-q', tag, `oci:${layout}:check`], this.env());
    const t = await treeFromLayout(layout, prefixes);
    rmSync(layout, { recursive: true, force: true });
    return t.tree;
  }

  storedLayerDigests(tag: string): string[] {
    const out = JSON.parse(run(this.command, ['inspect', tag], this.env())) as { Manifest: { layers: { digest: string; mediaType: string }[] } };
    // Only compressed layers: one stored as a plain tar (the base, imported from a docker-archive)
    // is compressed on the way out, as buildah does.
    return out.Manifest.layers.filter((l) => /gzip|zstd/.test(l.mediaType)).map((l) => l.digest);
  }

  describe(): string {
    return `tsbuild (root ${this.root})`;
  }
}

export class Buildah implements Builder {
  readonly name = 'buildah' as const;
  constructor(private readonly root: string, private readonly isolation: 'chroot' | 'oci') {
    mkdirSync(root, { recursive: true });
  }

  private global(): string[] {
    return ['--root', join(this.root, 'storage'), '--runroot', join(this.root, 'run'), '--storage-driver', 'overlay', '--cgroup-manager', 'cgroupfs'];
  }

  private env(): NodeJS.ProcessEnv {
    return { ...process.env, BUILDAH_ISOLATION: this.isolation };
  }

  importBase(archive: string, name: string): void {
    const id = run('buildah', [...this.global(), 'pull', '-q', `docker-archive:${archive}`], this.env()).trim().split('\n').pop()!;
    run('buildah', [...this.global(), 'tag', id, name], this.env());
  }

  async build(req: BuildRequest): Promise<Measured> {
    const args = [...this.global(), 'bud', '-q', '--pull-never', '--runtime', 'runc', '--layers', '--format', 'oci', '-f', req.file, '-t', req.tag];
    if (req.noCache) args.push('--no-cache');
    args.push(req.context);
    return must(await measure('buildah', args, { env: this.env() }), `buildah bud ${req.tag}`);
  }

  async push(tag: string, dest: string): Promise<Measured> {
    return must(await measure('buildah', [...this.global(), 'push', '-q', '--tls-verify=false', tag, dest], { env: this.env() }), `buildah push ${tag}`);
  }

  async tree(tag: string, prefixes: string[]): Promise<Tree> {
    const ctr = run('buildah', [...this.global(), 'from', '--pull-never', tag], this.env()).trim().split('\n').pop()!;
    try {
      const mnt = run('buildah', [...this.global(), 'mount', ctr], this.env()).trim();
      return treeFromDir(mnt, prefixes);
    } finally {
      run('buildah', [...this.global(), 'rm', ctr], this.env());
    }
  }

  /** Unmount whatever buildah left mounted under its root, so the bench file system can be unmounted. */
  cleanup(): void {
    try {
      run('buildah', [...this.global(), 'rm', '-a'], this.env());
    } catch {
      /* nothing to remove */
    }
    try {
      run('sh', ['-c', `awk '{print $2}' /proc/mounts | grep '^${this.root}' | sort -r | xargs -r umount -l`]);
    } catch {
      /* nothing mounted */
    }
  }

  describe(): string {
    return `buildah (root ${this.root}, isolation ${this.isolation})`;
  }
}
