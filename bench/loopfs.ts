// The dedicated benchmark file system: a fresh ext4 on a loop device, so both builders write to the
// same, freshly made disk, and nothing deleted on / (slow for minutes on these machines) skews a run.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';

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

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

function bytesOf(size: string): number {
  const m = /^(\d+)([KMGT]?)$/.exec(size);
  if (!m) throw new Error(`--size ${size}: expected a number with K, M, G or T`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

/**
 * The image file, `size` bytes, every block written once and kept from run to run. A sparse image
 * (as `truncate` makes) gives each block its place on / only when first written: the registry's
 * fsync of a 632 MB blob took 2.6 s at the start of a run and 5.2 s near its end as the file system
 * filled with never-touched blocks, and re-making it meant deleting up to 20 GB on / at the start of
 * every run, which on these machines slows / for minutes.
 */
function ensureWrittenImage(image: string, size: string): void {
  const bytes = bytesOf(size);
  const st = existsSync(image) ? statSync(image) : undefined;
  if (st && st.size === bytes && st.blocks * 512 >= bytes) return;
  const mib = 16;
  sh('dd', ['if=/dev/zero', `of=${image}`, `bs=${mib}M`, `count=${Math.ceil(bytes / (mib << 20))}`, 'conv=fsync', 'status=none']);
  sh('truncate', ['-s', String(bytes), image]);
}

/**
 * A mount that was busy is only detached by `umount -l`: it lives on, through its loop device, while
 * a process holds it. mkfs on its image would then put a second file system under the live one, and
 * the old one's writes land in the new one (seen: a "cold" push finding the blobs an earlier run had
 * pushed, then a corrupted file system). So a still-attached image stops the run, naming the device.
 */
function refuseImageInUse(image: string): void {
  if (!existsSync(image)) return;
  // A loop device is detached on its last close, which a udev probe right after the unmount can
  // delay for a moment: give it 3 s before calling it in use.
  let attached = sh('losetup', ['-j', image]);
  for (let i = 0; attached !== '' && i < 30; i++) {
    execFileSync('sleep', ['0.1']);
    attached = sh('losetup', ['-j', image]);
  }
  if (attached !== '') {
    throw new Error(`${image} is still attached (${attached.split('\n').map((l) => l.split(':')[0]).join(', ')}): a process still uses its old mount; stop it (fuser -vm on the device) and run again`);
  }
}

/**
 * The loop device reads and writes its file with direct I/O, as a disk would. Buffered, every block
 * was cached twice (the file system's page and the image file's), and an fsync on the loop file
 * system went out through the image file's page cache, behind whatever the builds before had left
 * dirty there: W7's cold W2 push, which ends in the registry's fsync of a 632 MB blob, took 2.5–4.7 s
 * from round to round; with direct I/O 2.45–2.6 s (bench/README, session 10). Where the backing file
 * system refuses direct I/O the device stays buffered, and the description says so.
 */
function directIo(device: string): void {
  try {
    sh('losetup', ['--direct-io=on', device]);
  } catch {
    // reported by prepareFs's description
  }
}

/**
 * Make (or, with `reuse`, keep) an ext4 file system of `size` in the file `image`, mounted at `mount`.
 * The inode tables and journal are initialised up front: ext4's lazy init would otherwise write in
 * the background during the first timed runs. `nodiscard`: mkfs would otherwise give the image's
 * blocks back to / (a discard on a loop device punches holes in its file).
 */
export function prepareFs(image: string, mount: string, size: string, reuse: boolean): BenchFs {
  mkdirSync(mount, { recursive: true });
  const mounted = mountsUnder(mount).includes(mount);
  if (!(reuse && mounted)) {
    unmountAll(mount);
    refuseImageInUse(image);
    mkdirSync(dirname(image), { recursive: true });
    ensureWrittenImage(image, size);
    sh('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0,nodiscard', image]);
    sh('mount', ['-o', 'loop', image, mount]);
  }
  const [source, fstype] = sh('findmnt', ['-no', 'SOURCE,FSTYPE', mount]).split(/\s+/);
  const backing = existsSync(image) ? sh('df', ['--output=fstype,source', image]).split('\n').pop()!.trim().replace(/\s+/, ' ') : '?';
  // Also a reused mount's device (--reuse-fs), which an older run may have left buffered.
  const dioFile = `/sys/block/${basename(source!)}/loop/dio`;
  const isLoop = existsSync(dioFile);
  if (isLoop) directIo(source!);
  const dio = !isLoop ? ', not a loop device' : readFileSync(dioFile, 'utf8').trim() === '1' ? ', direct I/O' : ', buffered I/O';
  return { mount, description: `${fstype} on ${source} (${size} file ${image}, itself on ${backing}${dio})` };
}
