import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, mkdir, writeFile, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { planAdd, type AddOptions, type AddRequest } from '../../builder/steps/add.js';
import { ContextSource, type LayerEntry } from '../../builder/steps/copy.js';
import { MemRootfs } from '../../builder/steps/fileops-memfs.js';
import { detectCompression, isTarHeader } from '../../builder/steps/add-archive.js';
import { UserError } from '../../oci/errors.js';

const location = { file: 'Containerfile', line: 7 };
const req = (r: Partial<AddRequest>): AddRequest => ({ sources: [], dest: '/', workdir: '/', location, ...r });
const paths = (es: LayerEntry[]) => es.map((e) => e.path);
const find = (es: LayerEntry[], p: string) => es.find((e) => e.path === p)!;
const scratchRoot = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-add-scratch-'));
after(() => rmSync(scratchRoot, { recursive: true, force: true }));
/** planAdd with a scratch directory of its own, as each ADD step gets. */
const add = (r: AddRequest, src: Parameters<typeof planAdd>[1], dest: Parameters<typeof planAdd>[2], o: Partial<AddOptions> = {}) =>
  planAdd(r, src, dest, { scratchDir: mkdtempSync(path.join(scratchRoot, 's-')), ...o });

async function ctxWithArchives(): Promise<string> {
  const ctx = await mkdtemp(path.join(os.tmpdir(), 'tsbuild-add-'));
  const payload = path.join(ctx, 'payload');
  await mkdir(path.join(payload, 'pkg/bin'), { recursive: true });
  await writeFile(path.join(payload, 'pkg/bin/tool'), 'TOOL');
  await symlink('bin/tool', path.join(payload, 'pkg/tool-link'));
  for (const [flag, name] of [['', 'a.tar'], ['-z', 'a.tar.gz'], ['-j', 'a.tar.bz2'], ['-J', 'a.tar.xz'], ['--zstd', 'a.tar.zst']] as const) {
    const args = ['-C', payload, '--owner=123', '--group=456', '--numeric-owner', '-c', '-f', path.join(ctx, name)];
    if (flag) args.splice(0, 0, flag);
    execFileSync('tar', [...args, 'pkg']);
  }
  execFileSync('gzip', ['-k', path.join(payload, 'pkg/bin/tool')]); // a gzip file that is not a tar
  await writeFile(path.join(ctx, 'plain.txt'), 'plain');
  return ctx;
}

async function hostileTar(entries: { name: string; type?: 'file' | 'symlink' | 'link' | 'directory'; linkname?: string; body?: string }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) pack.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: 0o644 }, e.body ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of Readable.from(pack)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('magic detection', () => {
  assert.equal(detectCompression(Buffer.from([0x1f, 0x8b, 0x08, 0])), 'gzip');
  assert.equal(detectCompression(Buffer.from('BZh9')), 'bzip2');
  assert.equal(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])), 'xz');
  assert.equal(detectCompression(Buffer.from('hello')), 'none');
  assert.equal(isTarHeader(Buffer.alloc(512)), false);
});

test('ADD extracts plain, gzip, bzip2, xz and zstd tars, keeping archive owners', async () => {
  const ctx = await ctxWithArchives();
  for (const name of ['a.tar', 'a.tar.gz', 'a.tar.bz2', 'a.tar.xz', 'a.tar.zst']) {
    const es = await add(req({ sources: [name], dest: '/opt' }), new ContextSource(ctx), new MemRootfs(), { now: 5 });
    assert.deepEqual(paths(es), ['opt', 'opt/pkg', 'opt/pkg/bin', 'opt/pkg/bin/tool', 'opt/pkg/tool-link'], name);
    const tool = find(es, 'opt/pkg/bin/tool');
    assert.deepEqual([tool.type, tool.uid, tool.gid, tool.size], ['file', 123, 456, 4], name);
    assert.deepEqual(tool.content, { data: Buffer.from('TOOL') });
    assert.deepEqual([find(es, 'opt/pkg/tool-link').type, find(es, 'opt/pkg/tool-link').linkname], ['symlink', 'bin/tool']);
  }
  const chowned = await add(req({ sources: ['a.tar.gz'], dest: '/opt/', chown: '7:8' }), new ContextSource(ctx), new MemRootfs());
  assert.deepEqual([find(chowned, 'opt/pkg/bin/tool').uid, find(chowned, 'opt/pkg/bin/tool').gid], [7, 8]);
});

test('ADD: a damaged archive or a missing decompressor fails at the line, never copies it as a file', async () => {
  const ctx = await ctxWithArchives();
  const payload = path.join(ctx, 'payload');
  await writeFile(path.join(payload, 'pkg/big'), Buffer.alloc(1 << 20, 'x'));
  execFileSync('tar', ['-C', payload, '-czf', path.join(ctx, 'whole.tar.gz'), 'pkg']);
  const whole = readFileSync(path.join(ctx, 'whole.tar.gz'));
  await writeFile(path.join(ctx, 'cut.tar.gz'), whole.subarray(0, whole.length - 200));
  await assert.rejects(add(req({ sources: ['cut.tar.gz'], dest: '/o' }), new ContextSource(ctx), new MemRootfs()), (e: unknown) => e instanceof UserError && /archive "cut.tar.gz" cannot be read/.test(e.message) && e.location?.line === 7);
  // xz finds the damage only by its check, after writing (wrong) bytes out: its exit status decides.
  execFileSync('tar', ['-C', payload, '-cf', path.join(ctx, 'whole.tar'), 'pkg']);
  execFileSync('xz', ['-0', '-k', path.join(ctx, 'whole.tar')]);
  const xz = readFileSync(path.join(ctx, 'whole.tar.xz'));
  for (let i = 0; i < 100; i++) xz[(xz.length >> 1) + i] ^= 0x55;
  await writeFile(path.join(ctx, 'bad.tar.xz'), xz);
  await assert.rejects(add(req({ sources: ['bad.tar.xz'], dest: '/o' }), new ContextSource(ctx), new MemRootfs()), (e: unknown) => e instanceof UserError && /archive "bad.tar.xz" cannot be read: xz/.test(e.message));
  const saved = process.env.PATH;
  process.env.PATH = await mkdtemp(path.join(os.tmpdir(), 'tsbuild-nopath-'));
  try {
    await assert.rejects(add(req({ sources: ['a.tar.xz'], dest: '/o' }), new ContextSource(ctx), new MemRootfs()), (e: unknown) => e instanceof UserError && /xz is not installed/.test(e.message) && e.location?.line === 7);
  } finally {
    process.env.PATH = saved;
  }
});

test('ADD keeps small archive members in memory, larger ones in the scratch directory', async () => {
  const ctx = await ctxWithArchives();
  const payload = path.join(ctx, 'many');
  await mkdir(payload);
  for (let i = 0; i < 6; i++) await writeFile(path.join(payload, `f${i}`), Buffer.alloc(100 << 10, i));
  await writeFile(path.join(payload, 'large'), Buffer.alloc(300 << 10, 9));
  execFileSync('tar', ['-C', payload, '-cf', path.join(ctx, 'many.tar'), '.']);
  const scratchDir = mkdtempSync(path.join(scratchRoot, 's-'));
  const es = await planAdd(req({ sources: ['many.tar'], dest: '/m' }), new ContextSource(ctx), new MemRootfs(), { scratchDir });
  const files = es.filter((e) => e.type === 'file');
  assert.equal(files.length, 7);
  // 256 KiB is the in-memory size limit per file; the whole step keeps at most 32 MiB in memory.
  assert.ok('path' in find(es, 'm/large').content!, 'a member over the small-file size is spooled');
  assert.ok(files.filter((e) => e.path !== 'm/large').every((e) => 'data' in e.content!), 'small members stay in memory');
  for (const e of files) {
    const c = e.content!;
    const data = 'data' in c ? c.data : readFileSync(c.path);
    assert.equal(data.length, e.size);
    assert.equal(data[0], e.path === 'm/large' ? 9 : Number(e.path.slice(-1)));
    if ('path' in c) assert.ok(c.path.startsWith(scratchDir + path.sep));
  }
});

test('ADD copies non-archives as files (incl. a gzip that is not a tar)', async () => {
  const ctx = await ctxWithArchives();
  const es = await add(req({ sources: ['plain.txt', 'payload/pkg/bin/tool.gz'], dest: '/d/' }), new ContextSource(ctx), new MemRootfs());
  assert.deepEqual(paths(es), ['d', 'd/plain.txt', 'd/tool.gz']);
  assert.deepEqual(find(es, 'd/tool.gz').content, { path: path.join(ctx, 'payload/pkg/bin/tool.gz') });
});

test('hostile archives cannot escape the destination', async () => {
  const ctx = await mkdtemp(path.join(os.tmpdir(), 'tsbuild-hostile-'));
  await writeFile(path.join(ctx, 'dotdot.tar'), await hostileTar([{ name: '../../x', body: 'x' }]));
  await writeFile(path.join(ctx, 'abs.tar'), await hostileTar([{ name: '/etc/passwd', body: 'root::0:0' }]));
  await writeFile(path.join(ctx, 'through.tar'), await hostileTar([{ name: 'link', type: 'symlink', linkname: '/etc' }, { name: 'link/passwd', body: 'pwned' }]));
  await writeFile(path.join(ctx, 'uplink.tar'), await hostileTar([{ name: 'up', type: 'symlink', linkname: '../../../etc' }]));
  await writeFile(path.join(ctx, 'hard.tar'), await hostileTar([{ name: 'h', type: 'link', linkname: '../../etc/shadow' }]));
  const src = new ContextSource(ctx);
  await assert.rejects(add(req({ sources: ['dotdot.tar'], dest: '/app' }), src, new MemRootfs()), (e: unknown) => e instanceof UserError && /outside of the destination/.test(e.message) && e.location?.line === 7);
  const abs = await add(req({ sources: ['abs.tar'], dest: '/app' }), src, new MemRootfs());
  assert.deepEqual(paths(abs), ['app', 'app/etc', 'app/etc/passwd']); // absolute names stay inside
  await assert.rejects(add(req({ sources: ['through.tar'], dest: '/app' }), src, new MemRootfs()), /written through non-directory/);
  await assert.rejects(add(req({ sources: ['uplink.tar'], dest: '/app' }), src, new MemRootfs()), /invalid symlink/);
  await assert.rejects(add(req({ sources: ['hard.tar'], dest: '/app' }), src, new MemRootfs()), /outside of the destination/);
  // an existing symlink in the destination is not written through either
  const dest = new MemRootfs([{ path: 'app/link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 0, linkname: '/etc' }]);
  await writeFile(path.join(ctx, 'via-existing.tar'), await hostileTar([{ name: 'link/passwd', body: 'pwned' }]));
  await assert.rejects(add(req({ sources: ['via-existing.tar'], dest: '/app' }), src, dest), /written through non-directory/);
});

test('ADD URL: download name, 0600, Last-Modified, checksum, errors', async () => {
  const body = Buffer.from('remote content');
  const server = createServer((rq, rs) => {
    if (rq.url === '/files/tool.tar.gz' || rq.url === '/files/data.bin' || rq.url === '/files/a%ZZ') {
      rs.writeHead(200, { 'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT' });
      rs.end(body);
    } else {
      rs.writeHead(404);
      rs.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const ctx = await mkdtemp(path.join(os.tmpdir(), 'tsbuild-url-'));
    const src = new ContextSource(ctx);
    let es = await add(req({ sources: [`${base}/files/tool.tar.gz`], dest: '/dl/' }), src, new MemRootfs());
    const { content, ...meta } = find(es, 'dl/tool.tar.gz');
    assert.deepEqual(meta, { path: 'dl/tool.tar.gz', type: 'file', mode: 0o600, uid: 0, gid: 0, mtime: 1445412480, size: body.length });
    assert.ok(content && 'path' in content, 'a download waits in the scratch directory, not in memory');
    assert.deepEqual(readFileSync(content.path), body);
    // Not valid percent-encoding: the name as written (was an internal "URI malformed" error).
    es = await add(req({ sources: [`${base}/files/a%ZZ`], dest: '/dl/' }), src, new MemRootfs());
    assert.deepEqual(paths(es), ['dl', 'dl/a%ZZ']);
    es = await add(req({ sources: [`${base}/files/data.bin`], dest: '/named' }), src, new MemRootfs());
    assert.deepEqual(paths(es), ['named']);
    const good = 'sha256:' + createHash('sha256').update(body).digest('hex');
    es = await add(req({ sources: [`${base}/files/data.bin`], dest: '/c', checksum: good }), src, new MemRootfs());
    assert.equal(es.length, 1);
    const bad = 'sha256:' + '0'.repeat(64);
    await assert.rejects(add(req({ sources: [`${base}/files/data.bin`], dest: '/c', checksum: bad }), src, new MemRootfs()), (e: unknown) => e instanceof UserError && e.message.includes(`${base}/files/data.bin`) && /checksum mismatch/.test(e.message));
    await assert.rejects(add(req({ sources: [`${base}/missing`], dest: '/c' }), src, new MemRootfs()), /HTTP 404/);
    await writeFile(path.join(ctx, 'local'), 'l');
    await assert.rejects(add(req({ sources: ['local'], dest: '/c', checksum: good }), src, new MemRootfs()), /only be used with HTTP/);
    await assert.rejects(add(req({ sources: ['https://github.com/moby/buildkit.git#v0.12'], dest: '/src' }), src, new MemRootfs()), /ADD of a git repository is not supported yet/);
    await assert.rejects(add(req({ sources: ['git@github.com:moby/buildkit.git'], dest: '/src' }), src, new MemRootfs()), UserError);
  } finally {
    server.close();
  }
});
