// Hostile archives for ADD: members named ../../x or /abs, symlink-then-file tricks (a symlink entry
// followed by a file written through it, relative, absolute and to /), hardlinks to outside files
// and /etc/shadow, device nodes, and a decompression bomb. Each either fails with a positioned
// one-line error or yields an image whose files all stay below the root; a marker tree outside the
// store proves nothing outside was created or changed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { TempDir, tsbuild } from '../helpers/cli.js';
import { Marker, imageBlobs, layerEntries } from '../fuzz/hostile-kit.js';
import { ustarHeader } from '../helpers/registry-image.js';

let tmp: TempDir;
let root: string;
let marker: Marker;
let outside: string;
let shadowLine: string;
let n = 0;

before(() => {
  tmp = new TempDir();
  root = tmp.dir('store');
  outside = tmp.dir('outside');
  marker = new Marker(outside);
  tmp.file('outside/secret.txt', marker.secret + '\n');
  marker.snapshot();
  shadowLine = readFileSync('/etc/shadow', 'utf8').split('\n')[0];
});
after(() => tmp.cleanup());

type Entry = Partial<tar.Header> & { name: string; body?: string };

async function makeTar(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const { body, ...h } of entries) {
    await new Promise<void>((resolve, reject) => pack.entry(Object.assign({ mode: 0o644, mtime: new Date(1e12) }, h), body ?? '', (e) => (e ? reject(e) : resolve())));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

interface Outcome {
  status: number;
  stderr: string;
  entries: string[];
}

/** ADD `archive` into `dest` in a scratch image (after `prelude`), checking containment either way. */
async function addArchive(archive: Buffer, opts: { dest?: string; prelude?: string; name?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Outcome> {
  const ctx = tmp.dir(`ctx${++n}`);
  const name = opts.name ?? 'evil.tar';
  writeFileSync(join(ctx, name), archive);
  tmp.file(`ctx${n}/Containerfile`, `FROM scratch\n${opts.prelude ?? ''}ADD ${name} ${opts.dest ?? '/x/'}\n`);
  const tag = `hostile-tar-${n}`;
  const r = tsbuild(['build', '--root', root, '-t', tag, ctx], { env: opts.env });
  let entries: string[] = [];
  if (r.status === 0) {
    const blobs = imageBlobs(root, `localhost/${tag}:latest`, tmp.path);
    for (const b of blobs) {
      assert.ok(!b.data.includes(marker.secret), `outside content in blob ${b.name}`);
      assert.ok(!b.data.includes(shadowLine), `/etc/shadow in blob ${b.name}`);
    }
    entries = layerEntries(blobs);
    for (const e of entries) assert.doesNotMatch(e, /^\/|^\.\.(\/|$)|\/\.\.(\/|$)/, `layer entry escapes: ${e}`);
  } else {
    assert.equal(r.status, 1, `a clean user error, not an internal one:\n${r.stderr}`);
    const errs = r.stderr.split('\n').filter((l) => l.startsWith('Error:'));
    assert.equal(errs.length, 1, r.stderr);
    assert.match(errs[0], /Containerfile:\d+: /);
  }
  assert.deepEqual(marker.changes(tmp.path, root), [], 'nothing outside the store was created or changed');
  return { status: r.status, stderr: r.stderr, entries };
}

test('ADD: members named ../../x are refused', async () => {
  const s = marker.sentinel;
  const r = await addArchive(await makeTar([{ name: 'ok.txt', body: 'ok' }, { name: `../../../../../../tmp/${s}`, body: 'x' }]));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /outside of the destination/);
  const r2 = await addArchive(await makeTar([{ name: `a/../../${s}`, body: 'x' }]));
  assert.equal(r2.status, 1);
});

test('ADD: absolute member names land below the destination', async () => {
  const r = await addArchive(await makeTar([{ name: `/tmp/${marker.sentinel}`, body: 'abs' }, { name: '/etc/passwd', body: 'root::0:0::/:/bin/sh\n' }]));
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.entries.includes(`x/tmp/${marker.sentinel}`), r.entries.join('\n'));
});

test('ADD: a symlink entry followed by a file written through it', async () => {
  const s = marker.sentinel;
  for (const target of [outside, '/', '/tmp', '../../../../../../../tmp', '..', '.']) {
    const r = await addArchive(await makeTar([{ name: 'link', type: 'symlink', linkname: target }, { name: `link/${s}`, body: 'through' }]));
    assert.equal(r.status, 1, `symlink to ${target}: ${r.stderr}`);
  }
  // A symlink made by an earlier step is not written through by a later archive either.
  const ctx = tmp.dir('ctx-two-steps');
  writeFileSync(join(ctx, 'a.tar'), await makeTar([{ name: 'out', type: 'symlink', linkname: outside }]));
  writeFileSync(join(ctx, 'b.tar'), await makeTar([{ name: `out/${s}`, body: 'through' }, { name: 'out/secret.txt', body: 'overwritten' }]));
  tmp.file('ctx-two-steps/Containerfile', 'FROM scratch\nADD a.tar /\nADD b.tar /\n');
  const r = tsbuild(['build', '--root', root, '-t', 'hostile-tar-two-steps', ctx]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /Containerfile:3: /);
  assert.deepEqual(marker.changes(tmp.path, root), []);
});

test('ADD: symlinks climbing out of the destination are refused; absolute ones are kept as data', async () => {
  const r = await addArchive(await makeTar([{ name: 'up', type: 'symlink', linkname: '../../../../../../etc/shadow' }]));
  assert.equal(r.status, 1, r.stderr);
  const abs = await addArchive(await makeTar([{ name: 'shadow', type: 'symlink', linkname: '/etc/shadow' }]));
  assert.equal(abs.status, 0, abs.stderr);
});

test('ADD: hardlinks to outside files and /etc/shadow are refused', async () => {
  for (const linkname of [join(outside, 'secret.txt'), '../../../../../../etc/shadow', '/etc/shadow', 'missing', '']) {
    const r = await addArchive(await makeTar([{ name: 'hl', type: 'link', linkname }]));
    assert.equal(r.status, 1, `hardlink to ${JSON.stringify(linkname)}: ${r.stderr}`);
  }
  // A hardlink to a file of the same archive is fine.
  const ok = await addArchive(await makeTar([{ name: 'a', body: 'A' }, { name: 'b', type: 'link', linkname: 'a' }]));
  assert.equal(ok.status, 0, ok.stderr);
});

test('ADD: device nodes and fifos stay entries of the image', async () => {
  const r = await addArchive(
    await makeTar([
      { name: 'mem', type: 'character-device', devmajor: 1, devminor: 1, mode: 0o666 },
      { name: 'sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o666 },
      { name: 'fifo', type: 'fifo' },
    ]),
  );
  if (r.status === 0) assert.ok(r.entries.includes('x/mem'), r.entries.join('\n'));
});

test('ADD: a decompression bomb fails cleanly, bounded in time', { timeout: 240_000 }, async () => {
  // 64 MiB of zeros gzips to ~64 KiB; 160 concatenated members expand to 10 GiB. Archives are
  // unpacked to disk (add-large tests the default bound, the store's free space); a cap set lower
  // refuses it from its header's declared size, before anything is written.
  const member = gzipSync(Buffer.alloc(64 << 20), { level: 9 });
  // A valid tar header for a 10 GiB file, so the archive is recognised as a tar.
  const tarHead = ustarHeader('big', 10 * 2 ** 30);
  const bomb = Buffer.concat([gzipSync(tarHead), ...Array.from({ length: 160 }, () => member)]);
  const started = Date.now();
  const r = await addArchive(bomb, { name: 'bomb.tar.gz', env: { TSBUILD_ADD_MAX_BYTES: String(1 << 30) } });
  assert.equal(r.status, 1, `the bomb is refused, not copied or unpacked:\n${r.stderr}`);
  assert.match(r.stderr, /Containerfile:\d+: .*expands to more than 1073741824 bytes \(set by TSBUILD_ADD_MAX_BYTES/);
  assert.ok(Date.now() - started < 180_000);
});
