// S2I pieces that need no container: environment parsing and precedence, --allowed-uids, .s2iignore
// globbing, Containerfile rendering and quoting, labels, source classification.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeEnv, parseEnvFlag, parseEnvironmentFile, readEnvironmentFlagFile } from '../../builder/s2i/env.js';
import { checkAllowedUser, parseUidRanges } from '../../builder/s2i/uids.js';
import { applyS2iIgnore, segmentRegex } from '../../builder/s2i/ignore.js';
import { quoteWord, renderMain } from '../../builder/s2i/containerfile.js';
import { injectionMounts, parseInjections, stageInjections } from '../../builder/s2i/inject.js';
import { checkLabelSize, generatedLabels, parseImageMetadata } from '../../builder/s2i/labels.js';
import { parseSource } from '../../builder/s2i/source.js';
import { UserError } from '../../oci/errors.js';

test('.s2i/environment: first = splits, trimmed, # comments, junk skipped, quotes literal', () => {
  const env = parseEnvironmentFile('# c\nA=1\n  B = two words \nQUOTED="x y"\nnot-a-pair\n=novalue\nC=a=b\n #notcomment=1\n');
  assert.deepEqual(env, [['A', '1'], ['B', 'two words'], ['QUOTED', '"x y"'], ['C', 'a=b'], ['#notcomment', '1']]);
});

test('-e: empty value allowed, commas kept with a warning, no name is a usage error', () => {
  const warnings: string[] = [];
  assert.deepEqual(parseEnvFlag('A=', (m) => warnings.push(m)), ['A', '']);
  assert.deepEqual(parseEnvFlag('A=1,B=2', (m) => warnings.push(m)), ['A', '1,B=2']);
  assert.equal(warnings.length, 1);
  assert.throws(() => parseEnvFlag('=x'), (e: unknown) => e instanceof UserError && e.exitCode === 2);
  assert.throws(() => parseEnvFlag('novalue'), UserError);
});

test('-E: // comments, last duplicate wins, unreadable file only warns; merge order later wins', async () => {
  const d = mkdtempSync(join(tmpdir(), 's2i-env-'));
  try {
    writeFileSync(join(d, 'f'), '// c\n# c\nX=1\nX=2\nY=3\n');
    assert.deepEqual(await readEnvironmentFlagFile(join(d, 'f'), () => undefined), [['X', '2'], ['Y', '3']]);
    const w: string[] = [];
    assert.deepEqual(await readEnvironmentFlagFile(join(d, 'missing'), (m) => w.push(m)), []);
    assert.equal(w.length, 1);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
  assert.deepEqual(mergeEnv([['A', 'file'], ['B', 'file']], [['A', 'e']], [['B', 'E'], ['C', 'E']]), [['A', 'e'], ['B', 'E'], ['C', 'E']]);
});

test('--allowed-uids ranges and the user check order (exit 15)', () => {
  assert.deepEqual(parseUidRanges('1-'), [{ min: 1, max: Number.MAX_SAFE_INTEGER }]);
  assert.deepEqual(parseUidRanges('5,10-20,-3'), [{ min: 5, max: 5 }, { min: 10, max: 20 }, { min: 0, max: 3 }]);
  for (const bad of ['x', '-', '5-2', '1-a']) assert.throws(() => parseUidRanges(bad), (e: unknown) => e instanceof UserError && e.exitCode === 2, bad);
  const ranges = parseUidRanges('1-');
  const is15 = (e: unknown) => e instanceof UserError && e.exitCode === 15;
  checkAllowedUser({ ranges, image: 'b', imageUser: '1001' });
  assert.throws(() => checkAllowedUser({ ranges, image: 'b', imageUser: '0' }), is15);
  assert.throws(() => checkAllowedUser({ ranges, image: 'b', imageUser: 'default' }), is15);
  assert.throws(() => checkAllowedUser({ ranges, image: 'b', imageUser: '' }), is15);
  checkAllowedUser({ ranges, image: 'b', imageUser: '0', assembleUserFlag: '1001' });
  assert.throws(() => checkAllowedUser({ ranges, image: 'b', imageUser: '1001', assembleUserFlag: '1001:0' }), is15);
  checkAllowedUser({ ranges, image: 'b', imageUser: '0', assembleUserLabel: '1001:0' });
  assert.throws(() => checkAllowedUser({ ranges, image: 'b', imageUser: '1001', onBuild: ['USER root'] }), is15);
  checkAllowedUser({ ranges: [], image: 'b', imageUser: 'root' });
});

test('.s2iignore: top-level globs, one level per segment, ! un-ignores earlier matches, file itself kept', async () => {
  const d = mkdtempSync(join(tmpdir(), 's2i-ign-'));
  try {
    for (const f of ['a.log', 'b.log', 'keep.log', 'sub/c.log', 'sub/deep/d.log', 'secret.txt', 'dir/x', 'index.txt']) {
      mkdirSync(join(d, f, '..'), { recursive: true });
      writeFileSync(join(d, f), f);
    }
    writeFileSync(join(d, '.s2iignore'), '# comment\n\n*.log\n!keep.log\n  secret.txt  \ndir\n*/*.log\n.s2iignore\n');
    const removed = await applyS2iIgnore(d);
    assert.deepEqual(removed, ['a.log', 'b.log', 'dir', 'secret.txt', 'sub/c.log']);
    assert.ok(existsSync(join(d, 'keep.log')));
    assert.ok(existsSync(join(d, 'sub/deep/d.log')), 'not recursive');
    assert.ok(existsSync(join(d, '.s2iignore')));
    assert.ok(existsSync(join(d, 'index.txt')));
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
  assert.ok(segmentRegex('[a-c]?.txt').test('bx.txt'));
  assert.ok(!segmentRegex('*.txt').test('a/b.txt'));
  assert.ok(segmentRegex('[!a]*').test('b'));
});

test('Containerfile rendering: literal ENV values, exec-form CMD, sorted labels, cached stage', () => {
  assert.equal(quoteWord('a "b" $HOME \\n'), '"a \\"b\\" \\$HOME \\\\n"');
  assert.throws(() => quoteWord('two\nlines'), UserError);
  const text = renderMain({
    builder: 'localhost/b:latest',
    labels: { z: '1', a: '2' },
    env: [['Q', '"x"']],
    dest: '/tmp',
    chown: '1001:0',
    assembleUser: '1001',
    finalUser: 'default',
    assemble: '/usr/libexec/s2i/assemble',
    run: '/tmp/scripts/run',
    cachedStage: { previous: 'localhost/app:latest', saveArtifacts: '/usr/libexec/s2i/save-artifacts', uploadedScript: false },
  });
  assert.match(text, /^FROM localhost\/app:latest AS cached\nUSER 1001\nRUN if \[ -s \/usr\/libexec\/s2i\/save-artifacts \]; then .* > \/tmp\/artifacts\.tar; else touch \/tmp\/artifacts\.tar; fi$/m);
  assert.match(text, /^LABEL "a"="2" \\\n      "z"="1"$/m);
  assert.match(text, /^ENV Q="\\"x\\""$/m);
  assert.match(text, /^COPY --chown=1001:0 --from=cached \/tmp\/artifacts\.tar \/tmp\/artifacts\.tar$/m);
  assert.match(text, /^COPY --chown=1001:0 upload\/src \/tmp\/src$/m);
  assert.match(text, /^RUN \/usr\/libexec\/s2i\/assemble\nUSER default\nCMD \["\/tmp\/scripts\/run"\]\n$/m);
});

test('labels: generated set, image_metadata.json, size limit', () => {
  const l = generatedLabels({ tag: 'app', builder: 'docker.io/x/b:latest', source: { kind: 'git', location: 'https://h/r.git', contextDir: 'sub', commit: { id: 'abc', ref: 'main', author: 'A <a@b>', date: 'd', message: 'm' } } });
  assert.deepEqual(l, {
    'io.k8s.display-name': 'app',
    'io.openshift.s2i.build.image': 'docker.io/x/b:latest',
    'io.openshift.s2i.build.commit.author': 'A <a@b>',
    'io.openshift.s2i.build.commit.date': 'd',
    'io.openshift.s2i.build.commit.id': 'abc',
    'io.openshift.s2i.build.commit.ref': 'main',
    'io.openshift.s2i.build.commit.message': 'm',
    'io.openshift.s2i.build.source-location': 'https://h/r.git',
    'io.openshift.s2i.build.source-context-dir': 'sub',
  });
  assert.deepEqual(parseImageMetadata('{"labels":[{"a":"1"},{"b":"2","a":"3"}]}'), { a: '3', b: '2' });
  assert.deepEqual(parseImageMetadata('{}'), {});
  assert.throws(() => parseImageMetadata('{'), UserError);
  assert.throws(() => parseImageMetadata('{"labels":[{"a":1}]}'), UserError);
  assert.throws(() => checkLabelSize({ k: 'x'.repeat(10240) }), /exceeds the maximum limit/);
});

test('source classification: URLs and #ref (--ref wins), file:// host, plain directory', async () => {
  assert.deepEqual(await parseSource('https://example.com/r.git#v1', undefined, false), { kind: 'git', location: 'https://example.com/r.git', ref: 'v1' });
  assert.deepEqual(await parseSource('https://example.com/r.git#v1', 'main', false), { kind: 'git', location: 'https://example.com/r.git', ref: 'main' });
  assert.deepEqual(await parseSource('git@github.com:o/r.git', undefined, false), { kind: 'git', location: 'git@github.com:o/r.git' });
  await assert.rejects(parseSource('file://host/x', undefined, false), (e: unknown) => e instanceof UserError && e.exitCode === 2);
  await assert.rejects(parseSource('/no/such/dir', undefined, false), UserError);
  const d = mkdtempSync(join(tmpdir(), 's2i-src-'));
  try {
    assert.deepEqual(await parseSource(d, undefined, false), { kind: 'dir', location: d });
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('--inject: SRC:DST lists, relative and empty destinations, targets that cannot be mount words', async () => {
  assert.deepEqual(parseInjections(['/a:/x;/b:rel', ' ;/c:']), [
    { source: '/a', destination: '/x' },
    { source: '/b', destination: 'rel' },
    { source: '/c', destination: '' },
  ]);
  assert.throws(() => parseInjections(['no-colon']), /expected SOURCE:DESTINATION/);
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-inject-'));
  try {
    mkdirSync(join(dir, 'src', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'src', 'b'), 'b');
    writeFileSync(join(dir, 'src', 'sub', 'a'), 'a');
    writeFileSync(join(dir, 'one'), '1');
    const ctx = join(dir, 'ctx');
    const files = await stageInjections(parseInjections([`${join(dir, 'src')}:.`, `${join(dir, 'one')}:etc/x`]), ctx, '/opt/app-root/src');
    assert.deepEqual(files, [
      { contextPath: 'upload/injections/0', target: '/opt/app-root/src/b' },
      { contextPath: 'upload/injections/1', target: '/opt/app-root/src/sub/a' },
      { contextPath: 'upload/injections/2', target: '/opt/app-root/src/etc/x/one' },
    ]);
    assert.equal(injectionMounts(files.slice(0, 1)), '--mount=type=bind,source=upload/injections/0,target=/opt/app-root/src/b,rw ');
    writeFileSync(join(dir, 'my file'), 'x');
    await assert.rejects(stageInjections(parseInjections([`${join(dir, 'my file')}:/t`]), ctx, '/'), /cannot be a mount target/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
