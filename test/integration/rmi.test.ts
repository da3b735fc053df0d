// `rmi` as podman does it: a name of an image that has other names only untags it (with or without
// -f); the image goes with its last name, or by ID (which needs -f when it has several names).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openStore, removeImage } from '../../index.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';
import { TempDir, lastLine, tsbuild, tsbuildOk } from '../helpers/cli.js';

let tmp: TempDir;
let busybox: BusyboxImage;

before(() => {
  tmp = new TempDir();
  busybox = makeBusyboxImage();
  tmp.file('app/msg.txt', 'hi\n');
  tmp.file('app/Containerfile', 'FROM busybox\nCOPY msg.txt /msg.txt\n');
});
after(() => {
  busybox?.cleanup();
  tmp?.cleanup();
});

/** A fresh store holding the busybox base. */
function newStore(name: string): string {
  const root = tmp.dir(name);
  tsbuildOk(['pull', '-q', '--root', root, `docker-archive:${busybox.dockerArchive}`]);
  return root;
}

function build(root: string, tag: string, extra: string[] = []): string {
  return lastLine(tsbuildOk(['build', '-q', '--root', root, '-t', tag, ...extra, join(tmp.path, 'app')]).stdout);
}

test('rmi NAME of an image with other names only untags it, with or without -f; by ID it needs -f and removes every name', async () => {
  const root = newStore('store-rmi');
  const id = build(root, 'app');
  tsbuildOk(['tag', '--root', root, 'app', 'app:a', 'app:b']);
  const names = () => (JSON.parse(tsbuildOk(['inspect', '--root', root, id]).stdout) as { RepoTags: string[] }).RepoTags;

  assert.equal(tsbuildOk(['rmi', '-f', '--root', root, 'app:a']).stdout, 'Untagged: localhost/app:a\n');
  assert.deepEqual(names(), ['localhost/app:latest', 'localhost/app:b']);
  assert.equal(tsbuildOk(['rmi', '--root', root, 'app:b']).stdout, 'Untagged: localhost/app:b\n');

  // By ID with two names: refused without -f (as podman: "please force removal").
  tsbuildOk(['tag', '--root', root, 'app', 'app:c']);
  const r = tsbuild(['rmi', '--root', root, id.slice(0, 12)]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /has several names .*--force/);
  assert.deepEqual(names(), ['localhost/app:latest', 'localhost/app:c']);

  // The last name takes the image with it.
  tsbuildOk(['rmi', '--root', root, 'app:c']);
  assert.equal(tsbuildOk(['rmi', '--root', root, 'app']).stdout, `Untagged: localhost/app:latest\nDeleted: ${id}\n`);
  assert.equal(tsbuild(['inspect', '--root', root, id]).status, 1);

  // -f by ID removes the image and all its names.
  const again = build(root, 'app');
  tsbuildOk(['tag', '--root', root, 'app', 'other:1']);
  assert.equal(tsbuildOk(['rmi', '-f', '--root', root, again]).stdout, `Untagged: localhost/app:latest\nUntagged: localhost/other:1\nDeleted: ${again}\n`);

  // The library's removeImage() is what the CLI runs.
  const store = await openStore(root);
  const third = build(root, 'lib');
  tsbuildOk(['tag', '--root', root, 'lib', 'lib:2']);
  assert.deepEqual(await removeImage(store, 'lib:2', { force: true }), { untagged: ['localhost/lib:2'] });
  assert.deepEqual(await removeImage(store, third), { untagged: ['localhost/lib:latest'], deleted: third });
});
