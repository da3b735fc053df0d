// podman with a throwaway store, so tests never touch the machine's images. This host needs
// runc (crun fails on its hybrid cgroups) and cgroupfs; and podman 4.3 asks for an RLIMIT_NOFILE of
// 1048576 even with --ulimit host, which fails without CAP_SYS_RESOURCE, so limits are explicit.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class Podman {
  readonly dir = mkdtempSync(join(tmpdir(), 'tsbuild-podman-'));

  private base(): string[] {
    return [
      '--root', join(this.dir, 'root'),
      '--runroot', join(this.dir, 'run'),
      '--storage-driver', 'vfs',
      '--runtime', 'runc',
      '--cgroup-manager', 'cgroupfs',
      '--events-backend', 'file',
      '--tmpdir', join(this.dir, 'tmp'),
    ];
  }

  exec(args: string[], opts: { input?: string } = {}): string {
    return execFileSync('podman', [...this.base(), ...args], { encoding: 'utf8', input: opts.input, stdio: ['pipe', 'pipe', 'pipe'], timeout: 120_000 });
  }

  /** `podman load -i FILE`; returns the loaded image's name or ID as podman reports it. */
  load(archive: string): string {
    const out = this.exec(['load', '-q', '-i', archive]);
    const m = /Loaded image(?:\(s\))?: (.+)/.exec(out);
    if (!m) throw new Error(`podman load printed no image: ${out}`);
    return m[1].split(',')[0].trim();
  }

  run(image: string, cmd: string[] = []): string {
    return this.exec(['run', '--rm', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', '--network', 'none', image, ...cmd]);
  }

  cleanup(): void {
    try {
      this.exec(['system', 'reset', '--force']);
    } catch {
      /* best effort: the directory goes anyway */
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
