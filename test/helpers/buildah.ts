// buildah with a throwaway store, as the reference builder in comparison tests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class Buildah {
  readonly dir = mkdtempSync(join(tmpdir(), 'tsbuild-buildah-'));

  exec(args: string[]): string {
    return execFileSync('buildah', ['--root', join(this.dir, 'root'), '--runroot', join(this.dir, 'run'), '--storage-driver', 'vfs', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
      env: { ...process.env, BUILDAH_ISOLATION: 'chroot' },
    });
  }

  /** Import an image (e.g. oci:DIR:TAG) and give it a name. */
  pull(source: string, name: string): void {
    const id = this.exec(['pull', '--quiet', source]).trim().split('\n').pop()!;
    this.exec(['tag', id, name]);
  }

  build(context: string, tag: string, extra: string[] = []): void {
    // buildah's defaults (no --layers): with --layers, buildah 1.28 skips creating a WORKDIR that
    // no later step writes into, unlike its own default and BuildKit.
    this.exec(['bud', '--runtime', 'runc', '--format', 'oci', '-t', tag, ...extra, context]);
  }

  push(image: string, dest: string): void {
    this.exec(['push', '--quiet', image, dest]);
  }

  cleanup(): void {
    try {
      execFileSync('sh', ['-c', `mount | grep -q '${this.dir}' && umount -R $(mount | grep '${this.dir}' | awk '{print $3}' | sort -r) || true`]);
    } catch {
      /* nothing mounted */
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
