// A busybox base image for tests, made from Debian's busybox-static with umoci (an independent
// tool), so tests never depend on tsbuild to make their own inputs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  // test/helpers (tsx) or dist/test/helpers (compiled)
  while (!d.endsWith('/test/helpers')) d = dirname(d);
  d = dirname(dirname(d));
  return d.endsWith('/dist') ? dirname(d) : d;
})();

export interface BusyboxImage {
  /** OCI layout directory holding the image under tag `latest`. */
  layout: string;
  ociRef: string;
  /** docker-archive file (docker save format) of the same image, named docker.io/library/busybox:latest. */
  dockerArchive: string;
  cleanup(): void;
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeBusyboxImage(): BusyboxImage {
  const work = mkdtempSync(join(tmpdir(), 'tsbuild-busybox-'));
  const ctx = join(work, 'ctx');
  run('sh', [join(REPO_ROOT, 'fixtures/busybox/make-context.sh'), ctx]);
  const layout = join(work, 'layout');
  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', `${layout}:latest`]);
  const bundle = join(work, 'bundle');
  run('umoci', ['unpack', '--image', `${layout}:latest`, bundle]);
  cpSync(join(ctx, 'rootfs'), join(bundle, 'rootfs'), { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  run('umoci', ['repack', '--image', `${layout}:latest`, bundle]);
  run('umoci', ['config', '--image', `${layout}:latest`, '--config.cmd', 'sh', '--config.env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  run('umoci', ['gc', '--layout', layout]);
  rmSync(bundle, { recursive: true, force: true });
  const dockerArchive = join(work, 'busybox-docker.tar');
  run('skopeo', ['copy', '--quiet', `oci:${layout}:latest`, `docker-archive:${dockerArchive}:docker.io/library/busybox:latest`]);
  return { layout, ociRef: `oci:${layout}:latest`, dockerArchive, cleanup: () => rmSync(work, { recursive: true, force: true }) };
}
