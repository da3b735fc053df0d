// S2I pieces that need no container: environment parsing and precedence, --allowed-uids, .s2iignore
// globbing, Containerfile rendering and quoting, labels, source classification, runtime artifacts
// (-a parsing, modes, staging out of snapshot dirs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeEnv, parseEnvFlag, parseEnvironmentFile, readEnvironmentFlagFile } from '../../builder/s2i/env.js';
import { checkAllowedUser, parseUidRanges } from '../../builder/s2i/uids.js';
import { applyS2iIgnore, segmentRegex } from '../../builder/s2i/ignore.js';
import { quoteWord, renderMain, renderRuntime } from '../../builder/s2i/containerfile.js';
import { injectionMounts, parseInjections, stageInjections } from '../../builder/s2i/inject.js';
import { checkLabelSize, generatedLabels, parseImageMetadata } from '../../builder/s2i/labels.js';
import { parseSource } from '../../builder/s2i/source.js';
import { landingPath, normalisedMode, parseRuntimeArtifacts, stageRuntimeArtifacts } from '../../builder/s2i/runtime-artifacts.js';
import { stageRuntimeScripts } from '../../builder/s2i/runtime-image.js';
import { checkScriptsUrlUsed } from '../../builder/s2i/scripts.js';
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

test('-a/--runtime-artifact: ;-lists, the last colon splits, quotes trimmed, paths cleaned', () => {
  assert.deepEqual(parseRuntimeArtifacts(['/tmp/app.war', '/opt/data/:app/dist;/srv/x:.', `'/a:b/c':"x/y/"`, '/tmp/app-0.1.war:app.war'], '-a', 2), [
    { source: '/tmp/app.war', destination: '.' },
    { source: '/opt/data', destination: 'app/dist' },
    { source: '/srv/x', destination: '.' },
    { source: '/a:b/c', destination: 'x/y' },
    { source: '/tmp/app-0.1.war', destination: 'app.war' },
  ]);
  assert.equal(landingPath({ source: '/tmp/app-0.1.war', destination: 'app.war' }), 'app.war/app-0.1.war', 'DST is a directory: no renames');
  assert.equal(landingPath({ source: '/opt/data', destination: '.' }), 'data');
});

test('-a/--runtime-artifact refusals (S2I\'s checks): exit 2 for flags, 1 for the label', () => {
  const refused = (value: string, why: RegExp, exitCode = 2) =>
    assert.throws(() => parseRuntimeArtifacts([value], '--runtime-artifact', exitCode), (e: unknown) => e instanceof UserError && e.exitCode === exitCode && why.test(e.message), value);
  refused('tmp/app.war', /source must be an absolute path/);
  refused('./app.war:x', /source must be an absolute path/);
  refused('/tmp/app.war:/abs', /destination must be a relative path/);
  refused('/tmp/app.war:../up', /destination cannot start with '\.\.'/);
  refused('/tmp/app.war:a/../../up', /destination cannot start with '\.\.'/);
  refused('/opt/*.jar', /wildcards are not supported/);
  refused('/opt/a?.jar', /wildcards are not supported/);
  refused('/opt/[ab].jar', /wildcards are not supported/);
  refused('/opt/$HOME', /invalid characters/);
  refused('/', /whole file system/);
  refused('/a;', /empty entry/);
  refused('/a/x:d;/b/x:d', /another artifact already lands at d\/x/);
  refused('relative', /absolute/, 1);
  assert.deepEqual(parseRuntimeArtifacts([], '-a', 2), []);
});

test('runtime artifact modes: directories and owner-executable files 0755, others 0644, special bits kept', () => {
  assert.equal(normalisedMode(true, 0o700), 0o755);
  assert.equal(normalisedMode(true, 0o1777), 0o1755);
  assert.equal(normalisedMode(false, 0o700), 0o755);
  assert.equal(normalisedMode(false, 0o744), 0o755);
  assert.equal(normalisedMode(false, 0o600), 0o644);
  assert.equal(normalisedMode(false, 0o666), 0o644);
  assert.equal(normalisedMode(false, 0o070), 0o644, 'only the owner execute bit counts');
  assert.equal(normalisedMode(false, 0o4711), 0o4755);
});

test('staging runtime artifacts out of snapshot dirs: modes, links, DST directories; nothing written through a staged link', async () => {
  const dir = mkdtempSync(join(tmpdir(), 's2i-rt-'));
  try {
    const layer = join(dir, 'layer');
    mkdirSync(join(layer, 'opt', 'build', 'conf'), { recursive: true });
    writeFileSync(join(layer, 'opt', 'build', 'hello'), '#!/bin/sh\n', { mode: 0o700 });
    writeFileSync(join(layer, 'opt', 'build', 'conf', 'app.conf'), 'k=v\n', { mode: 0o600 });
    chmodSync(join(layer, 'opt', 'build', 'conf'), 0o700);
    symlinkSync('hello', join(layer, 'opt', 'build', 'link'));
    symlinkSync(join(dir, 'outside'), join(layer, 'opt', 'escape'));
        const stage = join(dir, 'stage');
    mkdirSync(stage);
    const warnings: string[] = [];
    const n = await stageRuntimeArtifacts([layer], parseRuntimeArtifacts(['/opt/build:app/x', '/opt/build/hello'], '-a', 2), stage, 'img', (m) => warnings.push(m));
    assert.equal(n, 6);
    const mode = (p: string) => (lstatSync(join(stage, p)).mode & 0o7777).toString(8);
    assert.deepEqual(['app', 'app/x', 'app/x/build', 'app/x/build/hello', 'app/x/build/conf', 'app/x/build/conf/app.conf', 'hello'].map(mode), ['755', '755', '755', '755', '755', '644', '755']);
    assert.equal(readlinkSync(join(stage, 'app/x/build/link')), 'hello');
    assert.deepEqual(warnings, []);
    await assert.rejects(stageRuntimeArtifacts([layer], parseRuntimeArtifacts(['/opt/missing'], '-a', 2), stage, 'img', () => undefined), /\/opt\/missing: no such file or directory in the assembled image \(img\)/);
    // A staged symlink (it may point anywhere on the host) is never a directory to write into.
    await stageRuntimeArtifacts([layer], parseRuntimeArtifacts(['/opt/escape'], '-a', 2), stage, 'img', () => undefined);
    await assert.rejects(stageRuntimeArtifacts([layer], parseRuntimeArtifacts(['/opt/build/hello:escape'], '-a', 2), stage, 'img', () => undefined), /escape is not a directory \(another artifact put a symlink there\)/);
    assert.ok(!existsSync(join(dir, 'outside')), 'nothing was written outside the stage');
    // An artifact named like the scripts directory, linking out: the scripts are not written through it.
    mkdirSync(join(dir, 'outside-dir'));
    symlinkSync(join(dir, 'outside-dir'), join(layer, 'opt', 'scripts'));
    await stageRuntimeArtifacts([layer], parseRuntimeArtifacts(['/opt/scripts'], '-a', 2), stage, 'img', () => undefined);
    writeFileSync(join(dir, 'run'), '#!/bin/sh\n');
    const run = { path: '/tmp/scripts/run', origin: 'upload' as const, from: 'source .s2i/bin/run', rule: 'source' as const };
    await assert.rejects(stageRuntimeScripts([['run', run]], dir, stage), /runtime script run: scripts is not a directory \(another artifact put a symlink there\)/);
    assert.deepEqual(readdirSync(join(dir, 'outside-dir')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runtime Containerfile; a --scripts-url must give a script of either image', () => {
  const text = renderRuntime({ runtime: 'sha', env: [['A', '1']], workdir: '/opt/app-root', user: '0', assembleRuntime: '/usr/libexec/s2i/assemble-runtime', run: '/opt/app-root/scripts/run' });
  assert.equal(text, [
    '# Generated by tsbuild s2i: the runtime image (extended build)',
    'FROM sha',
    'ENV A="1"',
    '# Copying in the runtime artifacts and scripts',
    'COPY ["upload/runtime","/opt/app-root/"]',
    'USER 0',
    '# Assembling the runtime image',
    'RUN /usr/libexec/s2i/assemble-runtime',
    'CMD ["/opt/app-root/scripts/run"]',
    '',
  ].join('\n'));
  assert.match(renderRuntime({ runtime: 'sha', env: [], workdir: '/', assembleRuntime: '/x', run: '/y' }), /^COPY \["upload\/runtime","\/"\]\n# Assembling the runtime image\nRUN \/x$/m);
  const viaUrl = { assemble: { path: '/tmp/scripts/assemble', origin: 'upload' as const, from: 'u', rule: 'scripts-url' as const } };
  const viaLabel = { run: { path: '/usr/libexec/s2i/run', origin: 'image' as const, from: 'l', rule: 'label' as const } };
  checkScriptsUrlUsed('file:///s', viaLabel, viaUrl);
  checkScriptsUrlUsed('image:///s', viaLabel);
  checkScriptsUrlUsed(undefined, viaLabel);
  assert.throws(() => checkScriptsUrlUsed('file:///s', viaLabel, {}), /could not download any scripts from URL file:\/\/\/s/);
});
