// RUN Containerfiles built by tsbuild (root, oci isolation) and by buildah (runc, chroot isolation)
// must give the same image config and the same file tree. Paths that only exist because a runtime
// made mount points are left out of the comparison: buildah's chroot isolation leaves empty
// /proc /sys /dev and /etc/hosts, /etc/resolv.conf, /run/... behind in its layer, while tsbuild makes
// mount points in a throw-away layer. Directory owners/modes/timestamps of these are runtime details.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { TempDir, tsbuildOk } from '../helpers/cli.js';
import { Buildah } from '../helpers/buildah.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';
import { diffTrees } from '../helpers/tree.js';
import { comparableConfig, unpackedTree } from '../helpers/compare.js';

let tmp: TempDir;
let root: string;
let buildah: Buildah;
let busybox: BusyboxImage;

before(() => {
  tmp = new TempDir();
  root = tmp.dir('store');
  buildah = new Buildah();
  busybox = makeBusyboxImage();
  tsbuildOk(['pull', '--root', root, `docker-archive:${busybox.dockerArchive}`]);
  buildah.pull(`docker-archive:${busybox.dockerArchive}`, 'docker.io/library/busybox:latest');
});
after(() => {
  buildah?.cleanup();
  busybox?.cleanup();
  tmp?.cleanup();
});

const MOUNT_POINTS = /^(proc|sys|dev|run|etc\/hosts|etc\/resolv\.conf|etc\/hostname)(\/|$)/;
function compare(name: string, containerfile: string): void {
  const ctx = tmp.dir(`ctx-${name}`);
  tmp.file(`ctx-${name}/Containerfile`, containerfile);
  const ours = join(tmp.path, `ours-${name}`);
  const theirs = join(tmp.path, `theirs-${name}`);
  tsbuildOk(['build', '--root', root, '-t', `cmp-${name}`, ctx]);
  tsbuildOk(['push', '--root', root, `cmp-${name}`, `oci:${ours}:img`]);
  buildah.build(ctx, `cmp-${name}`, ['--isolation', 'chroot']);
  buildah.push(`cmp-${name}`, `oci:${theirs}:img`);
  assert.deepEqual(comparableConfig(ours), comparableConfig(theirs), `${name}: image config`);
  // Directory mtimes are not compared; /etc's mode/owner are the base's either way.
  assert.deepEqual(diffTrees(unpackedTree(ours, 'img', MOUNT_POINTS), unpackedTree(theirs, 'img', MOUNT_POINTS)), [], `${name}: file trees differ (tsbuild vs buildah)`);
}

test('RUN writes, deletes, chown, chmod, hardlinks, symlinks', () => {
  compare('files', [
    'FROM busybox',
    'RUN mkdir -p /opt/a/b && echo hi > /opt/a/b/f && ln -s b/f /opt/a/link && ln /opt/a/b/f /opt/a/hard && chmod 4755 /opt/a/b/f',
    // Known gap: changing a hardlinked file of an earlier layer (overlay copy-up) splits the link
    // in tsbuild's layer; buildah keeps it. So the link's metadata is set in the step that made it.
    'RUN chown app:app /opt/a /opt/a/b && chown -h app:app /opt/a/link && chmod 0750 /opt/a/b && echo more > /opt/a/other && chown -h app /opt/a/other',
    'RUN rm -rf /home/app && rm /etc/shadow && echo gone > /tmp/x && rm /tmp/x',
    '',
  ].join('\n'));
});

test('RUN with ENV, ARG, WORKDIR, USER and SHELL', () => {
  compare('config', [
    'FROM busybox',
    'ARG V=1',
    'ENV E=e',
    'WORKDIR /srv/app',
    'RUN echo "$E-$V-$(pwd)" > out && mkdir data',
    'SHELL ["/bin/sh", "-ec"]',
    'RUN echo shell >> out',
    'USER app',
    'RUN id -u > /tmp/uid',
    'CMD ["cat", "/srv/app/out"]',
    '',
  ].join('\n'));
});
