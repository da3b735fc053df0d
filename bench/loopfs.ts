// The dedicated benchmark file system: a fresh ext4 on a loop device, so both builders write to the
// same, freshly made disk, and nothing deleted on / (slow for minutes on these machines) skews a run.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface BenchFs {
  mount: string;
  /** "ext4 on /dev/loop0 (file /var/tmp/x.img on ext4 /dev/vda)" */
  description: string;
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/mounts', 'utf8').split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .map((m) => m.replace(/\\040/g, ' '))
    .filter((m) => m === dir || m.startsWith(dir + '/'))
    .sort()
    .reverse();
}

/** Unmount everything at or under `dir` (buildah's overlay mounts first), deepest first. */
export function unmountAll(dir: string): void {
  for (const m of mountsUnder(dir)) {
    try {
      sh('umount', [m]);
    } catch {
      sh('umount', ['-l', m]);
    }
  }
}

/**
 * Make (or, with `reuse`, keep) an ext4 file system of `size` in the file `image`, mounted at `mount`.
 * The inode tables and journal are initialised up front: ext4's lazy init would otherwise write in
 * the background during the first timed runs.
 */
export function prepareFs(image: string, mount: string, size: string, reuse: boolean): BenchFs {
  mkdirSync(mount, { recursive: true });
  const mounted = mountsUnder(mount).includes(mount);
  if (!(reuse && mounted)) {
    unmountAll(mount);
    mkdirSync(dirname(image), { recursive: true });
    sh('truncate', ['-s', '0', image]);
    sh('truncate', ['-s', size, image]);
    sh('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image]);
    sh('mount', ['-o', 'loop', image, mount]);
  }
  const [source, fstype] = sh('findmnt', ['-no', 'SOURCE,FSTYPE', mount]).split(/\s+/);
  const backing = existsSync(image) ? sh('df', ['--output=fstype,source', image]).split('\n').pop()!.trim().replace(/\s+/, ' ') : '?';
  return { mount, description: `${fstype} on ${source} (${size} file ${image}, itself on ${backing})` };
}
