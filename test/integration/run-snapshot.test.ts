// A RUN step's overlay upper dir is kept as its layer's snapshot (SnapshotStore.adopt) instead of
// the next step unpacking the blob just written. That snapshot must be the very tree an unpack of
// the layer gives: here every kept snapshot of a real build (as root with oci isolation, and as an
// unprivileged user with subordinate ids) is moved aside, the store unpacks the same layers the
// slow way for a build on top, and the two trees are compared entry by entry (type, mode, owner,
// content, mtime seconds, xattrs incl. the opaque marker, device numbers, whiteouts, hardlinks,
// the root dir). Root running a rootless (userxattr) overlay writes the other xattr namespace than
// its snapshots use: there the upper must not be kept.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from '../helpers/cli.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';
import { chownTree, ensureTestUser, tempDir, type TestUser } from '../helpers/native-rootfs.js';
import { describeSnapshot, snapshotDiff } from '../helpers/snapshot-tree.js';

type Mode = 'oci' | 'rootless';

let work: string;
let busybox: BusyboxImage;
let user: TestUser;

function cli(mode: Mode, args: string[]): string {
  const r =
    mode === 'rootless'
      ? spawnSync('runuser', ['-u', user.name, '--', process.execPath, CLI, ...args], { encoding: 'utf8', cwd: work, timeout: 300_000 })
      : spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: work, timeout: 300_000 });
  assert.equal(r.status, 0, `tsbuild ${args.join(' ')} (${mode}):\n${r.stderr}`);
  return r.stdout;
}

function context(name: string, containerfile: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Containerfile'), containerfile);
  chownTree(dir, user.uid, user.gid);
  return dir;
}

function newStore(mode: Mode, name: string): string {
  const root = join(work, name);
  mkdirSync(root);
  chownTree(root, user.uid, user.gid);
  const archive = join(work, 'busybox.tar');
  if (!existsSync(archive)) {
    copyFileSync(busybox.dockerArchive, archive);
    chownTree(archive, user.uid, user.gid);
  }
  cli(mode, ['pull', '-q', '--root', root, `docker-archive:${archive}`]);
  return root;
}

/** Snapshots (chain ID hex) whose meta.json says they were kept from a RUN step's upper dir. */
function keptSnapshots(root: string): string[] {
  const dir = join(root, 'snapshots');
  return readdirSync(dir).filter((n) => /^[a-f0-9]{64}$/.test(n) && JSON.parse(readFileSync(join(dir, n, 'meta.json'), 'utf8')).source === 'upper');
}

const STEPS = [
  'FROM busybox',
  // new tree: hardlinks, symlink, fifo, setuid, owners, an old mtime, and `/` itself changed
  'RUN mkdir -p /d/keep /d/opq /d/sub && echo a > /d/keep/a && ln /d/keep/a /d/keep/a-hard && ln -s ../keep/a /d/opq/sym && echo b > /d/opq/b && echo c > /d/gone && mkfifo /d/fifo && chmod 4755 /d/keep/a && chown 1000:1000 /d/keep /d/sub && touch -d @1234567890 /d/old && chmod 700 /',
  // whiteouts of this build's files and of the base's, an opaque dir, copy-ups with new metadata only
  'RUN rm -rf /d/opq && mkdir /d/opq && echo n > /d/opq/n && rm /d/gone /bin/ls && chmod 700 /etc && chown 1000:1000 /d/keep/a-hard && echo more >> /d/keep/a && touch /d/sub',
  // a device (where allowed), a removed fifo, a dir replaced by a file
  'RUN (mknod /d/null c 1 3 || true) && rm /d/fifo && rm -rf /d/sub && echo f > /d/sub',
  '',
].join('\n');

before(() => {
  work = tempDir('tsbuild-runsnap-');
  user = ensureTestUser();
  chownTree(work, user.uid, user.gid);
  busybox = makeBusyboxImage();
});
after(() => {
  busybox?.cleanup();
  // rootless stores hold files owned by subordinate ids: root removes them.
  if (work) execFileSync('rm', ['-rf', work]);
});

const CASES: [Mode, string[]][] = [
  ['oci', []],
  ['rootless', []],
  // mtimes the layers record otherwise than the upper holds them
  ['oci', ['--timestamp', '1500000000']],
];

for (const [mode, flags] of CASES) {
  const name = `${mode}${flags.length > 0 ? ` ${flags.join(' ')}` : ''}`;
  test(`${name}: a kept upper dir equals the snapshot unpacked from its layer`, (t) => {
    if (mode === 'rootless' && !user.subids) return t.skip('the test user has no subordinate id ranges');
    const tag = `${mode}${flags.length}`;
    const root = newStore(mode, `store-${tag}`);
    const iso = [...(mode === 'oci' ? ['--isolation', 'oci'] : []), ...flags];
    cli(mode, ['build', '-q', '--root', root, ...iso, '-t', 'kept', context(`kept-${tag}`, STEPS)]);
    const kept = keptSnapshots(root);
    assert.equal(kept.length, 3, 'one kept snapshot per RUN step');

    // Move them aside; a build on top makes the store unpack those layers from their blobs.
    const aside = join(work, `aside-${tag}`);
    mkdirSync(aside);
    for (const hex of kept) renameSync(join(root, 'snapshots', hex), join(aside, hex));
    cli(mode, ['build', '-q', '--root', root, ...iso, '-t', 'on-top', context(`on-top-${tag}`, 'FROM kept\nRUN test -f /d/opq/n && ! test -e /d/opq/b && ! test -e /bin/ls\n')]);
    for (const hex of kept) {
      assert.ok(existsSync(join(root, 'snapshots', hex, 'meta.json')), `snapshot ${hex.slice(0, 12)} unpacked again`);
      assert.notEqual(JSON.parse(readFileSync(join(root, 'snapshots', hex, 'meta.json'), 'utf8')).source, 'upper');
      const keptTree = describeSnapshot(join(aside, hex, 'fs'));
      assert.deepEqual(snapshotDiff(keptTree, describeSnapshot(join(root, 'snapshots', hex, 'fs')), ['kept', 'unpacked']), [], `snapshot ${hex.slice(0, 12)}`);
    }
  });
}

test('root with rootless isolation: the upper (user.* markers) is not kept in a store of trusted.* snapshots', () => {
  const root = newStore('oci', 'store-root-rootless');
  cli('oci', ['build', '-q', '--root', root, '--isolation', 'rootless', '-t', 'x', context('root-rootless', 'FROM busybox\nRUN mkdir /d && echo x > /d/x\nRUN rm -rf /d && mkdir /d && echo y > /d/y\n')]);
  assert.deepEqual(keptSnapshots(root), []);
});
