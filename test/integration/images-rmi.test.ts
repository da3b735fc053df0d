// `images` and `rmi` as buildah and podman do them: each image's own created time (its config's, not
// when it entered the store), newest first; a name of an image that has other names is only untagged
// by rmi (with or without -f), the image goes with its last name, or by ID (-f when it has several).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { openStore, removeImage } from '../../index.js';
import { copyImage } from '../../registry/copy.js';
import { memoryImage } from '../../registry/memory.js';
import { openDestination } from '../../registry/open.js';
import { hostPlatform } from '../../registry/platform.js';
import { AppStores } from '../helpers/app-stores.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';
import { TempDir, tsbuild, tsbuildOk } from '../helpers/cli.js';

let tmp: TempDir;
let busybox: BusyboxImage;
let apps: AppStores;

before(() => {
  tmp = new TempDir();
  busybox = makeBusyboxImage();
  apps = new AppStores(tmp, busybox);
});
after(() => {
  busybox?.cleanup();
  tmp?.cleanup();
});

const newStore = (name: string) => apps.newStore(name);
const build = (root: string, tag: string, extra: string[] = []) => apps.build(root, tag, extra);

/** An OCI layout holding a small image created in 2001, to pull "now". */
async function layoutFrom2001(): Promise<string> {
  const p = pack();
  p.entry({ name: 'old.txt', mode: 0o644, mtime: new Date(0) }, 'old');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  const created = '2001-09-09T01:46:40Z';
  const img = memoryImage({ layers: [Buffer.concat(chunks)], config: { architecture: hostPlatform().architecture, os: 'linux', created, config: {} } });
  const dir = join(tmp.path, 'layout-2001');
  const dest = await openDestination(`oci:${dir}:docker.io/library/old:2001`);
  try {
    await copyImage(img, dest);
  } finally {
    await dest.close();
  }
  return dir;
}

test('images shows the image created time (not when it was stored), newest first, in the table, templates and json', async () => {
  const root = newStore('store-images');
  build(root, 'fresh');
  build(root, 'epoch', ['--timestamp', '0']);
  // Pulled last, so the order in which images entered the store is not the created order.
  tsbuildOk(['pull', '-q', '--root', root, `oci:${await layoutFrom2001()}:docker.io/library/old:2001`]);

  const tpl = tsbuildOk(['images', '--root', root, '--format', '{{.Repository}}|{{.Created}}']).stdout.trim().split('\n').map((l) => l.split('|'));
  assert.deepEqual(tpl.map(([repo]) => repo), ['localhost/fresh', 'docker.io/library/busybox', 'docker.io/library/old', 'localhost/epoch'], 'newest first');
  const created = Object.fromEntries(tpl.map(([repo, c]) => [repo, Date.parse(c!)]));
  assert.equal(created['localhost/epoch'], 0);
  assert.equal(created['docker.io/library/old'], Date.parse('2001-09-09T01:46:40Z'));
  assert.ok(Date.now() - created['localhost/fresh']! < 120_000);

  const table = tsbuildOk(['images', '--root', root]).stdout;
  const years = (since: number) => Math.floor((Date.now() - since) / 1000 / 31_536_000);
  assert.match(table, new RegExp(`^localhost/epoch +latest +[0-9a-f]{12} +${years(0)} years ago `, 'm'));
  assert.match(table, new RegExp(`^docker\\.io/library/old +2001 +[0-9a-f]{12} +${years(created['docker.io/library/old']!)} years ago `, 'm'));
  assert.match(table, /^localhost\/fresh +latest +[0-9a-f]{12} +(\d+ seconds|Less than a second) ago /m);

  const json = JSON.parse(tsbuildOk(['images', '--root', root, '--format', 'json']).stdout) as { Names: string[]; Created: string }[];
  assert.equal(Date.parse(json.find((i) => i.Names.includes('localhost/epoch:latest'))!.Created), 0);
  assert.equal(json[0]!.Names[0], 'localhost/fresh:latest');
});

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
