import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { tryFileLock, withFileLock } from '../../cache/lock.js';
import { defaultStoreRoot, openStore, type Store } from '../../cache/store.js';
import { canonicalJson } from '../../oci/digest.js';
import { UserError } from '../../oci/errors.js';
import { OCI_CONFIG, OCI_MANIFEST } from '../../oci/mediatypes.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
// The store module beside this test: cache/store.ts from source (tsx maps .js to .ts), dist/cache/store.js compiled.
const storeModule = fileURLToPath(new URL('../../cache/store.js', import.meta.url));
const lockModule = fileURLToPath(new URL('../../cache/lock.js', import.meta.url));

/** Put a config + manifest for a distinct image in the store; returns the manifest to add. */
async function makeImage(store: Store, tag: string) {
  const config = canonicalJson({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Labels: { tag } } });
  const c = await store.blobs.putBytes(config);
  const manifest = canonicalJson({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: c.digest, size: c.size }, layers: [] });
  return { bytes: manifest, mediaType: OCI_MANIFEST, id: c.digest.slice(7) };
}

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

describe('store and images', () => {
  let base: string;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'tsbuild-store-'));
  });
  after(() => rm(base, { recursive: true, force: true }));

  it('registers images, moves names between them and merges re-adds', async () => {
    const store = await openStore(join(base, 's1'));
    const a = await makeImage(store, 'a');
    const b = await makeImage(store, 'b');
    const ra = await store.images.add(a, ['docker.io/library/app:latest', 'docker.io/library/app:1']);
    assert.equal(ra.id, a.id);
    assert.equal(ra.manifestMediaType, OCI_MANIFEST);
    const rb = await store.images.add(b, ['docker.io/library/app:latest']);
    assert.deepEqual(rb.names, ['docker.io/library/app:latest']);
    assert.deepEqual((await store.images.resolve(a.id))!.names, ['docker.io/library/app:1']);
    assert.equal((await store.images.resolve('docker.io/library/app:latest'))!.id, b.id);
    // Adding the same manifest again merges names instead of duplicating the record.
    await store.images.add(a, ['localhost/extra:tag']);
    assert.equal((await store.images.list()).length, 2);
    assert.deepEqual((await store.images.resolve(a.id))!.names, ['docker.io/library/app:1', 'localhost/extra:tag']);
    // tag/untag
    await store.images.tag(b.id, 'docker.io/library/app:1');
    assert.deepEqual((await store.images.resolve(a.id))!.names, ['localhost/extra:tag']);
    await store.images.untag('localhost/extra:tag');
    assert.deepEqual((await store.images.resolve(a.id))!.names, []); // dangling, still listed
    await assert.rejects(store.images.untag('localhost/none:x'), UserError);
    // manifest and config can be read back
    const rec = (await store.images.resolve(b.id))!;
    assert.equal((await store.images.readManifest(rec)).config.digest, 'sha256:' + b.id);
    assert.equal((await store.images.readConfig(rec)).os, 'linux');
    await store.images.remove(a.id);
    assert.equal(await store.images.resolve(a.id), undefined);
    await assert.rejects(store.images.remove(a.id), UserError);
  });

  it('adding an image again under the same names leaves images.json untouched', async () => {
    const store = await openStore(join(base, 's-noop'));
    const a = await makeImage(store, 'noop');
    await store.images.add(a, ['localhost/noop:1']);
    const file = join(store.root, 'images.json');
    // A rewrite renames a new file in, with a current mtime: mark this one as old.
    const old = new Date('2001-01-01T00:00:00Z');
    await utimes(file, old, old);
    await store.images.add(a, ['localhost/noop:1']);
    await store.images.tag(a.id, 'localhost/noop:1');
    assert.equal((await stat(file)).mtimeMs, old.getTime(), 'images.json was rewritten');
    // A real change is still written.
    await store.images.tag(a.id, 'localhost/noop:2');
    assert.notEqual((await stat(file)).mtimeMs, old.getTime());
    assert.deepEqual((await store.images.resolve(a.id))!.names, ['localhost/noop:1', 'localhost/noop:2']);
  });

  it('resolves by full id, sha256:id and unambiguous prefixes of at least 3 chars', async () => {
    const store = await openStore(join(base, 's2'));
    const imgs = [];
    for (let i = 0; i < 40; i++) imgs.push(await makeImage(store, 'p' + i));
    for (const m of imgs) await store.images.add(m, []);
    const x = imgs[0]!;
    assert.equal((await store.images.resolve(x.id))!.id, x.id);
    assert.equal((await store.images.resolve('sha256:' + x.id))!.id, x.id);
    assert.equal((await store.images.resolve(x.id.slice(0, 12)))!.id, x.id);
    assert.equal(await store.images.resolve(x.id.slice(0, 2)), undefined);
    assert.equal(await store.images.resolve('f'.repeat(64)), undefined);
    // With 40 images, some 1-char prefix is shared: find a shared 3+-char-free case via a shared first char.
    const byFirst = new Map<string, number>();
    for (const m of imgs) byFirst.set(m.id[0]!, (byFirst.get(m.id[0]!) ?? 0) + 1);
    const shared = imgs.filter((m) => byFirst.get(m.id[0]!)! > 1).map((m) => m.id);
    const common = shared.find((s) => shared.some((t) => t !== s && t.slice(0, 3) === s.slice(0, 3)));
    if (common) await assert.rejects(store.images.resolve(common.slice(0, 3)), /ambiguous/);
    await assert.rejects(
      store.images.add({ bytes: Buffer.from('{"schemaVersion":2,"config":{"digest":"sha256:' + 'e'.repeat(64) + '"},"layers":[]}'), mediaType: OCI_MANIFEST }, []),
      (e: unknown) => e instanceof UserError && e.message.includes('e'.repeat(64)),
    );
  });

  it('concurrent adds from two processes do not lose names', async () => {
    const root = join(base, 's3');
    const store = await openStore(root);
    const a = await makeImage(store, 'ca');
    const b = await makeImage(store, 'cb');
    const script = join(base, 'adder.mts');
    await writeFile(script, `
      import { openStore } from ${JSON.stringify(storeModule)};
      const [root, bytes, prefix] = process.argv.slice(2);
      const store = await openStore(root);
      for (let i = 0; i < 25; i++) await store.images.add({ bytes: Buffer.from(bytes, 'base64'), mediaType: 'application/vnd.oci.image.manifest.v1+json' }, [prefix + i]);
    `);
    const run = (m: { bytes: Buffer }, prefix: string) =>
      new Promise<void>((resolve, reject) => {
        const p = spawn(process.execPath, ['--import', 'tsx', script, root, m.bytes.toString('base64'), prefix], { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'] });
        p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error('adder exited ' + code))));
      });
    await Promise.all([run(a, 'localhost/a:'), run(b, 'localhost/b:')]);
    const ra = (await store.images.resolve(a.id))!;
    const rb = (await store.images.resolve(b.id))!;
    assert.equal(ra.names.length, 25);
    assert.equal(rb.names.length, 25);
    assert.ok(ra.names.every((n) => n.startsWith('localhost/a:')));
  });

  it('breaks a lock left by a dead process, and serialises withLock callers', async () => {
    const root = join(base, 's4');
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'store.lock'), String(deadPid()));
    const store = await openStore(root);
    const order: string[] = [];
    await Promise.all([
      store.withLock(async () => { order.push('a<'); await new Promise((r) => setTimeout(r, 30)); order.push('a>'); }),
      store.withLock(async () => { order.push('b<'); order.push('b>'); }),
    ]);
    assert.deepEqual(order, ['a<', 'a>', 'b<', 'b>']);
    assert.deepEqual((await readdir(root)).filter((n) => n.includes('lock')), []);
  });

  it('tryFileLock takes a free or stale lock and answers undefined while one is held, never waiting', async () => {
    const dir = join(base, 'try');
    await mkdir(dir, { recursive: true });
    const lock = join(dir, 'x.lock');
    await writeFile(lock, String(deadPid()));
    const release = await tryFileLock(lock);
    assert.ok(release, 'a dead owner does not hold it');
    assert.equal(await tryFileLock(lock), undefined, 'held in this process');
    await release!();
    let inside = false;
    let attempt: unknown = 'not tried';
    await withFileLock(lock, async () => {
      inside = true;
      attempt = await tryFileLock(lock);
    });
    assert.ok(inside);
    assert.equal(attempt, undefined, 'held by withFileLock');
    const again = await tryFileLock(lock);
    assert.ok(again);
    await again!();
    assert.deepEqual((await readdir(dir)).filter((n) => n.includes('lock')), []);
  });

  it('a process killed at any moment while taking or holding the lock never wedges it', async () => {
    const root = join(base, 's4k');
    await mkdir(root, { recursive: true });
    const lockPath = join(root, 'store.lock');
    const script = join(base, 'locker.mts');
    // argv: lock path, "loop" (take and release for ever) or "once" (take it once, then exit).
    await writeFile(script, `
      import { withFileLock } from ${JSON.stringify(lockModule)};
      const [path, mode] = process.argv.slice(2);
      process.stdout.write('ready\\n');
      do await withFileLock(path, async () => {}); while (mode === 'loop');
    `);
    const start = (mode: string) => spawn(process.execPath, ['--import', 'tsx', script, lockPath, mode], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
    const exit = (p: ReturnType<typeof start>) => new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    for (let i = 0; i < 8; i++) {
      const looper = start('loop');
      await new Promise<void>((r) => looper.stdout.once('data', () => r()));
      await new Promise((r) => setTimeout(r, 1 + ((i * 7) % 13))); // a spread of moments in the loop
      const gone = exit(looper);
      looper.kill('SIGKILL');
      await gone;
      // In a child of its own, so a wedged lock fails this test instead of keeping the runner alive.
      const taker = start('once');
      const deadline = setTimeout(() => taker.kill('SIGKILL'), 30_000);
      const code = await exit(taker);
      clearTimeout(deadline);
      assert.equal(code, 0, `the lock could not be taken after a kill (iteration ${i})`);
    }
    assert.deepEqual((await readdir(root)).filter((n) => n.includes('lock')), [], 'no lock, candidate or set-aside lock left');
  });

  it('an empty lock file that has sat for a while (left by older versions) is broken', async () => {
    const root = join(base, 's4e');
    await mkdir(root, { recursive: true });
    const lockPath = join(root, 'store.lock');
    await writeFile(lockPath, '');
    const old = new Date(Date.now() - 60_000);
    await utimes(lockPath, old, old);
    let ran = false;
    await withFileLock(lockPath, async () => { ran = true; });
    assert.ok(ran);
  });

  it('openStore removes temp leftovers of dead processes only', async () => {
    const root = join(base, 's5');
    const s = await openStore(root);
    const dead = deadPid();
    await writeFile(join(s.tmp, `${dead}-blob-abc123`), 'half a blob');
    await mkdir(join(s.tmp, `${dead}-snapshot-def456`, 'fs'), { recursive: true });
    await writeFile(join(s.tmp, `${process.ppid}-blob-live`), 'parent is alive');
    const mine = await s.makeTempDir('work');
    assert.ok(mine.startsWith(s.tmp + '/' + process.pid + '-work-'));
    await openStore(root);
    assert.deepEqual((await readdir(s.tmp)).sort(), [`${process.ppid}-blob-live`, mine.slice(s.tmp.length + 1)].sort());
    await s.removeTempDir(mine);
  });

  it('defaultStoreRoot honours TSBUILD_ROOT, then the uid / XDG rules', () => {
    const saved = { ...process.env };
    try {
      process.env['TSBUILD_ROOT'] = '/x/y';
      assert.equal(defaultStoreRoot(), '/x/y');
      delete process.env['TSBUILD_ROOT'];
      process.env['XDG_DATA_HOME'] = '/data';
      assert.equal(defaultStoreRoot(), process.getuid?.() === 0 ? '/var/lib/tsbuild' : '/data/tsbuild');
    } finally {
      process.env = saved;
    }
  });
});
