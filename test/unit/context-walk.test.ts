import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadIgnorePatterns, parseIgnoreFile } from '../../builder/context/ignorefile.js';
import { IgnoreMatcher } from '../../builder/context/ignore.js';
import { walkContext } from '../../builder/context/walk.js';
import { resolveScoped } from '../../builder/context/scoped.js';
import { cleanPath } from '../../builder/context/paths.js';
import { UserError } from '../../oci/errors.js';

async function tmp(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'tsbuild-ctx-'));
}

test('parseIgnoreFile: comments, blanks, trimming, Clean, leading / and ./', () => {
  const text = '\uFEFF# comment\n\n  foo  \n/abs/x\n./rel/y\n!  /keep\n a/../b/\n  # not a comment\n**/*.o\r\n';
  assert.deepEqual(parseIgnoreFile(text), ['foo', 'abs/x', 'rel/y', '!keep', 'b', '# not a comment', '**/*.o']);
});

test('cleanPath is Go filepath.Clean', () => {
  assert.equal(cleanPath(''), '.');
  assert.equal(cleanPath('a//b/./c/..'), 'a/b');
  assert.equal(cleanPath('../../x'), '../../x');
  assert.equal(cleanPath('/../x'), '/x');
  assert.equal(cleanPath('./'), '.');
});

test('loadIgnorePatterns precedence: --ignorefile, <Containerfile>.containerignore/.dockerignore, context files', async () => {
  const ctx = await tmp();
  assert.deepEqual(await loadIgnorePatterns(ctx), []);
  await writeFile(path.join(ctx, '.dockerignore'), 'docker\n');
  assert.deepEqual(await loadIgnorePatterns(ctx), ['docker']);
  await writeFile(path.join(ctx, '.containerignore'), 'container\n');
  assert.deepEqual(await loadIgnorePatterns(ctx), ['container']);
  const cf = path.join(ctx, 'sub', 'Containerfile');
  await mkdir(path.dirname(cf));
  await writeFile(cf, 'FROM scratch\n');
  assert.deepEqual(await loadIgnorePatterns(ctx, { containerfile: cf }), ['container']);
  await writeFile(`${cf}.dockerignore`, 'cf-docker\n');
  assert.deepEqual(await loadIgnorePatterns(ctx, { containerfile: cf }), ['cf-docker']);
  await writeFile(`${cf}.containerignore`, 'cf-container\n');
  assert.deepEqual(await loadIgnorePatterns(ctx, { containerfile: cf }), ['cf-container']);
  await writeFile(path.join(ctx, 'custom'), 'custom\n');
  assert.deepEqual(await loadIgnorePatterns(ctx, { containerfile: cf, ignorefile: path.join(ctx, 'custom') }), ['custom']);
  await assert.rejects(loadIgnorePatterns(ctx, { ignorefile: path.join(ctx, 'missing') }), UserError);
});

test('walkContext: ignores, re-includes inside excluded dirs, never follows symlinks', async () => {
  const ctx = await tmp();
  await mkdir(path.join(ctx, 'docs/deep'), { recursive: true });
  await mkdir(path.join(ctx, 'node_modules/x'), { recursive: true });
  await mkdir(path.join(ctx, 'src'));
  await writeFile(path.join(ctx, 'docs/a.md'), 'a');
  await writeFile(path.join(ctx, 'docs/deep/keep.md'), 'k');
  await writeFile(path.join(ctx, 'node_modules/x/i.js'), 'i');
  await writeFile(path.join(ctx, 'src/main.ts'), 'm');
  await writeFile(path.join(ctx, 'src/main.o'), 'o');
  await symlink('/etc', path.join(ctx, 'etc-link'));
  const matcher = new IgnoreMatcher(['docs', '!docs/deep/keep.md', 'node_modules', '**/*.o']);
  const entries = await walkContext(ctx, matcher);
  assert.deepEqual(entries.map((e) => e.path), ['docs', 'docs/deep', 'docs/deep/keep.md', 'etc-link', 'src', 'src/main.ts']);
  const link = entries.find((e) => e.path === 'etc-link')!;
  assert.equal(link.linkTarget, '/etc');
  assert.equal(link.stat.isSymbolicLink(), true);
  const sub = await walkContext(ctx, matcher, { start: 'src' });
  assert.deepEqual(sub.map((e) => e.path), ['src/main.ts']);
});

test('resolveScoped keeps symlinks inside the root', async () => {
  const links: Record<string, string> = { abs: '/etc', up: '../../..', 'a/rel': '../b', loop: 'loop' };
  const rl = async (p: string) => links[p];
  assert.deepEqual(await resolveScoped('abs/passwd', rl), { path: 'etc/passwd' });
  assert.deepEqual(await resolveScoped('up/x', rl), { path: 'x' });
  assert.deepEqual(await resolveScoped('a/rel/c', rl), { path: 'b/c' });
  assert.deepEqual(await resolveScoped('abs', rl, false), { path: 'abs' });
  await assert.rejects(resolveScoped('loop', rl), UserError);
});
