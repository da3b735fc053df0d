// `images` as buildah and podman show it: each image's own created time (its config's, not when it
// entered the store), newest first.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { copyImage } from '../../registry/copy.js';
import { memoryImage } from '../../registry/memory.js';
import { openDestination } from '../../registry/open.js';
import { hostPlatform } from '../../registry/platform.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';
import { TempDir, lastLine, tsbuildOk } from '../helpers/cli.js';

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
