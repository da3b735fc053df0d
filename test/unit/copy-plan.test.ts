import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, symlink, link, chmod, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { planCopy, ContextSource, RootfsSource, type CopyRequest, type LayerEntry } from '../../builder/steps/copy.js';
import { MemRootfs } from '../../builder/steps/fileops-memfs.js';
import { IgnoreMatcher } from '../../builder/context/ignore.js';
import { UserError } from '../../oci/errors.js';

const location = { file: 'Containerfile', line: 3 };
const NOW = 1_700_000_000;

async function context(): Promise<string> {
  const ctx = await mkdtemp(path.join(os.tmpdir(), 'tsbuild-copy-'));
  await mkdir(path.join(ctx, 'dir/sub'), { recursive: true });
  await writeFile(path.join(ctx, 'a.txt'), 'A');
  await writeFile(path.join(ctx, 'b.txt'), 'BB');
  await writeFile(path.join(ctx, 'run.sh'), '#!/bin/sh');
  await chmod(path.join(ctx, 'run.sh'), 0o755);
  await writeFile(path.join(ctx, 'dir/x'), 'x');
  await writeFile(path.join(ctx, 'dir/sub/y'), 'y');
  await chmod(path.join(ctx, 'a.txt'), 0o640);
  await utimes(path.join(ctx, 'a.txt'), 1000, 1234);
  return ctx;
}

function base(): MemRootfs {
  return new MemRootfs([
    { path: 'etc/passwd', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1, content: { data: Buffer.from('root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n') } },
    { path: 'etc/group', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1, content: { data: Buffer.from('root:x:0:\nstaff:x:50:\n') } },
    { path: 'usr/local', type: 'dir', mode: 0o775, uid: 0, gid: 50, mtime: 77 },
    { path: 'lib', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 1, linkname: 'usr/lib' },
    { path: 'usr/lib', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1 },
  ]);
}

const req = (r: Partial<CopyRequest>): CopyRequest => ({ sources: [], dest: '/', workdir: '/', location, ...r });
const paths = (es: LayerEntry[]) => es.map((e) => e.path);
const find = (es: LayerEntry[], p: string) => es.find((e) => e.path === p)!;

test('file into a new dir: parents created 0755 root, file keeps mode and mtime, owner 0:0', async () => {
  const ctx = await context();
  const es = await planCopy(req({ sources: ['a.txt', 'run.sh'], dest: '/app/bin/' }), new ContextSource(ctx), base(), { now: NOW });
  assert.deepEqual(paths(es), ['app', 'app/bin', 'app/bin/a.txt', 'app/bin/run.sh']);
  assert.deepEqual(find(es, 'app'), { path: 'app', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: NOW });
  const a = find(es, 'app/bin/a.txt');
  assert.equal(a.mode, 0o640); // the context file's own mode bits
  assert.equal(a.mtime, 1234);
  assert.equal(a.size, 1);
  assert.deepEqual(a.content, { path: path.join(ctx, 'a.txt') });
  assert.equal(find(es, 'app/bin/run.sh').mode, 0o755);
});

test('dest naming: file name vs into existing dir; relative dest uses WORKDIR; existing parents keep metadata', async () => {
  const ctx = await context();
  let es = await planCopy(req({ sources: ['a.txt'], dest: '/usr/local/renamed' }), new ContextSource(ctx), base(), { now: NOW });
  assert.deepEqual(paths(es), ['usr', 'usr/local', 'usr/local/renamed']);
  assert.deepEqual(find(es, 'usr/local'), { path: 'usr/local', type: 'dir', mode: 0o775, uid: 0, gid: 50, mtime: 77 });
  es = await planCopy(req({ sources: ['a.txt'], dest: '/usr/local' }), new ContextSource(ctx), base(), { now: NOW });
  assert.deepEqual(paths(es), ['usr', 'usr/local', 'usr/local/a.txt']);
  es = await planCopy(req({ sources: ['a.txt'], dest: 'sub/', workdir: '/work' }), new ContextSource(ctx), base(), { now: NOW });
  assert.deepEqual(paths(es), ['work', 'work/sub', 'work/sub/a.txt']);
  es = await planCopy(req({ sources: ['a.txt'], dest: '.', workdir: '/work' }), new ContextSource(ctx), base(), { now: NOW });
  assert.deepEqual(paths(es), ['work', 'work/a.txt']);
  // destination through a rootfs symlink: /lib -> usr/lib
  es = await planCopy(req({ sources: ['a.txt'], dest: '/lib/' }), new ContextSource(ctx), base(), { now: NOW });
  assert.deepEqual(paths(es), ['usr', 'usr/lib', 'usr/lib/a.txt']);
});

test('directory source copies its contents; "." copies the whole context', async () => {
  const ctx = await context();
  let es = await planCopy(req({ sources: ['dir'], dest: '/out' }), new ContextSource(ctx), base(), { now: NOW });
  assert.deepEqual(paths(es), ['out', 'out/sub', 'out/sub/y', 'out/x']);
  es = await planCopy(req({ sources: ['.'], dest: '/ctx/' }), new ContextSource(ctx, new IgnoreMatcher(['*.txt', 'dir/sub'])), base(), { now: NOW });
  assert.deepEqual(paths(es), ['ctx', 'ctx/dir', 'ctx/dir/x', 'ctx/run.sh']);
});

test('wildcards, multiple sources and their errors', async () => {
  const ctx = await context();
  const es = await planCopy(req({ sources: ['*.txt'], dest: '/t/' }), new ContextSource(ctx), base(), { now: NOW });
  assert.deepEqual(paths(es), ['t', 't/a.txt', 't/b.txt']);
  const one = await planCopy(req({ sources: ['a.t?t'], dest: '/one' }), new ContextSource(ctx), base(), { now: NOW });
  assert.deepEqual(paths(one), ['one']);
  const nested = await planCopy(req({ sources: ['dir/*/y'], dest: '/n/' }), new ContextSource(ctx), base(), { now: NOW });
  assert.deepEqual(paths(nested), ['n', 'n/y']);
  await assert.rejects(planCopy(req({ sources: ['*.txt'], dest: '/t' }), new ContextSource(ctx), base()), /must be a directory and end with a \//);
  await assert.rejects(planCopy(req({ sources: ['a.txt', 'b.txt'], dest: '/t' }), new ContextSource(ctx), base()), /must be a directory/);
  await assert.rejects(planCopy(req({ sources: ['*.nope'], dest: '/t/' }), new ContextSource(ctx), base()), /no source files were specified/);
  await assert.rejects(planCopy(req({ sources: ['missing'], dest: '/t/' }), new ContextSource(ctx), base()), (e: unknown) => e instanceof UserError && /Containerfile:3: COPY failed: file not found/.test(e.message));
  // a fully ignored source is missing
  await assert.rejects(planCopy(req({ sources: ['a.txt'], dest: '/t/' }), new ContextSource(ctx, new IgnoreMatcher(['*.txt'])), base()), /file not found/);
});

test('--chown by name/number, --chmod octal, errors for unknown names and symbolic modes', async () => {
  const ctx = await context();
  const es = await planCopy(req({ sources: ['dir'], dest: '/new/deep/', chown: 'app', chmod: '0640' }), new ContextSource(ctx), base(), { now: NOW });
  for (const e of es) {
    if (e.path === 'new' || e.path === 'new/deep') assert.deepEqual([e.mode, e.uid, e.gid], [0o755, 1000, 1001]);
    else assert.deepEqual([e.mode, e.uid, e.gid], [0o640, 1000, 1001], e.path);
  }
  const es2 = await planCopy(req({ sources: ['a.txt'], dest: '/f', chown: '5' }), new ContextSource(ctx), base());
  assert.deepEqual([es2[0].uid, es2[0].gid], [5, 5]);
  const es3 = await planCopy(req({ sources: ['a.txt'], dest: '/f', chown: 'app:staff' }), new ContextSource(ctx), base());
  assert.deepEqual([es3[0].uid, es3[0].gid], [1000, 50]);
  await assert.rejects(planCopy(req({ sources: ['a.txt'], dest: '/f', chown: 'nobody' }), new ContextSource(ctx), base()), (e: unknown) => e instanceof UserError && /unable to find user nobody/.test(e.message));
  await assert.rejects(planCopy(req({ sources: ['a.txt'], dest: '/f', chown: 'app:nogroup' }), new ContextSource(ctx), base()), /unable to find group nogroup/);
  await assert.rejects(planCopy(req({ sources: ['a.txt'], dest: '/f', chmod: 'u+x' }), new ContextSource(ctx), base()), UserError);
  await assert.rejects(planCopy(req({ sources: ['a.txt'], dest: '/f', parents: true }), new ContextSource(ctx), base()), /not supported/);
});

test('--exclude and heredocs', async () => {
  const ctx = await context();
  const es = await planCopy(req({ sources: ['.'], dest: '/e/', exclude: ['*.txt', 'dir/sub'] }), new ContextSource(ctx), base(), { now: NOW });
  assert.deepEqual(paths(es), ['e', 'e/dir', 'e/dir/x', 'e/run.sh']);
  const h = await planCopy(req({ sources: [], heredocs: [{ name: 'hello.sh', content: 'echo hi\n' }], dest: '/bin/' }), new ContextSource(ctx), base(), { now: NOW });
  assert.deepEqual(find(h, 'bin/hello.sh'), { path: 'bin/hello.sh', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: NOW, size: 8, content: { data: Buffer.from('echo hi\n') } });
});

test('symlinks: escape via .., link outside, absolute link, path through a symlinked dir, hardlinks', async () => {
  const ctx = await context();
  const outside = await mkdtemp(path.join(os.tmpdir(), 'tsbuild-outside-'));
  await writeFile(path.join(outside, 'secret'), 'S');
  await symlink(path.join(outside, 'secret'), path.join(ctx, 'abs-out'));
  await symlink('../../../../../../etc/passwd', path.join(ctx, 'rel-out'));
  await symlink('a.txt', path.join(ctx, 'link-in'));
  await symlink('dir', path.join(ctx, 'dirlink'));
  await symlink('/', path.join(ctx, 'rootlink'));
  await link(path.join(ctx, 'dir/x'), path.join(ctx, 'dir/x-hard'));
  const src = new ContextSource(ctx);

  await assert.rejects(planCopy(req({ sources: ['../x'], dest: '/' }), src, base()), (e: unknown) => e instanceof UserError && e.message === 'Containerfile:3: COPY failed: forbidden path outside the build context: ../x');
  await assert.rejects(planCopy(req({ sources: ['dir/../../x'], dest: '/' }), src, base()), /forbidden path outside the build context/);

  // a source link is followed with the context as its root, like a chroot: an absolute target, or
  // one climbing out, lands inside the context, never outside it
  const notFound = (e: unknown) => e instanceof UserError && /^Containerfile:3: COPY failed: file not found in build context/.test(e.message);
  await assert.rejects(planCopy(req({ sources: ['abs-out'], dest: '/l/' }), src, base()), notFound);
  await assert.rejects(planCopy(req({ sources: ['rel-out'], dest: '/l/' }), src, base()), notFound);
  await mkdir(path.join(ctx, 'etc'));
  await writeFile(path.join(ctx, 'etc/passwd'), 'decoy in the context');
  await mkdir(path.join(ctx, outside), { recursive: true });
  await writeFile(path.join(ctx, outside, 'secret'), 'the context copy of the path');
  let es = await planCopy(req({ sources: ['abs-out', 'rel-out'], dest: '/l/' }), new ContextSource(ctx), base(), { now: NOW });
  assert.deepEqual([find(es, 'l/abs-out').type, find(es, 'l/abs-out').content], ['file', { path: path.join(ctx, outside, 'secret') }]);
  assert.deepEqual([find(es, 'l/rel-out').type, find(es, 'l/rel-out').content], ['file', { path: path.join(ctx, 'etc/passwd') }]);
  await symlink('/a.txt', path.join(ctx, 'abs-in'));
  await symlink('dir/../../..', path.join(ctx, 'up-to-root'));
  await symlink('missing', path.join(ctx, 'dangling'));
  es = await planCopy(req({ sources: ['abs-in', 'up-to-root/b.txt'], dest: '/l/' }), src, base());
  assert.deepEqual(find(es, 'l/abs-in').content, { path: path.join(ctx, 'a.txt') });
  assert.deepEqual(find(es, 'l/b.txt').content, { path: path.join(ctx, 'b.txt') });
  await assert.rejects(planCopy(req({ sources: ['dangling'], dest: '/l/' }), src, base()), notFound);
  // wildcards follow the links they match, each copied under the link's own name
  es = await planCopy(req({ sources: ['abs-*'], dest: '/w/' }), new ContextSource(ctx), base());
  assert.deepEqual(es.filter((e) => e.path.startsWith('w/')).map((e) => [e.path, e.type, e.content]), [
    ['w/abs-in', 'file', { path: path.join(ctx, 'a.txt') }],
    ['w/abs-out', 'file', { path: path.join(ctx, outside, 'secret') }],
  ]);
  // a link to a directory copies the directory's contents
  es = await planCopy(req({ sources: ['dirlink'], dest: '/dl/' }), src, base());
  assert.deepEqual(paths(es).filter((p) => p.startsWith('dl/')), ['dl/sub', 'dl/sub/y', 'dl/x', 'dl/x-hard']);
  // a link inside the context named on the line is followed (BuildKit FollowSymlinks)
  es = await planCopy(req({ sources: ['link-in'], dest: '/l/' }), src, base());
  assert.equal(find(es, 'l/link-in').type, 'file');
  assert.deepEqual(find(es, 'l/link-in').content, { path: path.join(ctx, 'a.txt') });
  // through a symlinked dir: followed, scoped to the context
  es = await planCopy(req({ sources: ['dirlink/sub/y'], dest: '/l/' }), src, base());
  assert.deepEqual(find(es, 'l/y').content, { path: path.join(ctx, 'dir/sub/y') });
  es = await planCopy(req({ sources: ['rootlink/a.txt'], dest: '/l/' }), src, base());
  assert.deepEqual(find(es, 'l/a.txt').content, { path: path.join(ctx, 'a.txt') }); // '/' means the context root
  // symlinks inside a copied directory stay symlinks; hardlinks stay hardlinks
  await symlink('/etc/shadow', path.join(ctx, 'dir/inner-link'));
  es = await planCopy(req({ sources: ['dir'], dest: '/d/' }), new ContextSource(ctx), base()); // (src has listed dir already)
  assert.deepEqual([find(es, 'd/inner-link').type, find(es, 'd/inner-link').linkname], ['symlink', '/etc/shadow']);
  assert.equal(find(es, 'd/x').type, 'file');
  assert.deepEqual([find(es, 'd/x-hard').type, find(es, 'd/x-hard').linkname, find(es, 'd/x-hard').content], ['hardlink', 'd/x', undefined]);
});

test('COPY --from another rootfs: owners kept, absolute links scoped to that rootfs', async () => {
  const other = new MemRootfs([
    { path: 'bin/busybox', type: 'file', mode: 0o755, uid: 0, gid: 0, mtime: 9, content: { data: Buffer.from('BB') } },
    { path: 'bin/sh', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 9, linkname: '/bin/busybox' },
    { path: 'home/u/f', type: 'file', mode: 0o600, uid: 1000, gid: 1000, mtime: 8, content: { data: Buffer.from('f') } },
  ]);
  const es = await planCopy(req({ sources: ['/bin/sh', '/home/u'], dest: '/x/' }), new RootfsSource(other), base(), { now: NOW });
  assert.deepEqual(paths(es), ['x', 'x/f', 'x/sh']);
  assert.deepEqual(find(es, 'x/sh').content, { data: Buffer.from('BB') });
  assert.deepEqual([find(es, 'x/f').uid, find(es, 'x/f').mode], [1000, 0o600]);
});

test('conflicts: file over a directory, dir contents over a file', async () => {
  const ctx = await context();
  const dest = base().add({ path: 'app/thing', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1 });
  await assert.rejects(planCopy(req({ sources: ['dir'], dest: '/app/thing' }), new ContextSource(ctx), dest), /cannot copy to non-directory/);
  await assert.rejects(planCopy(req({ sources: ['a.txt'], dest: '/app/thing/' }), new ContextSource(ctx), dest), /cannot copy to non-directory/);
});
