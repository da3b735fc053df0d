// Every error a user can cause is one line (file:line or the reference) and a non-zero exit,
// never a stack trace, and nothing is left tagged in the store.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { TempDir, tsbuild } from '../helpers/cli.js';

let tmp: TempDir;
let root: string;
before(() => {
  tmp = new TempDir();
  root = tmp.dir('store');
});
after(() => tmp.cleanup());

function assertOneLineError(r: { status: number; stderr: string; stdout: string }, pattern: RegExp, status = 1): void {
  assert.equal(r.status, status, `exit status; stderr: ${r.stderr}`);
  const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('Error: '));
  assert.equal(errorLines.length, 1, `exactly one error line in:\n${r.stderr}`);
  assert.match(errorLines[0], pattern);
  assert.doesNotMatch(r.stderr, /^\s+at .+\(.+:\d+:\d+\)$/m, 'no stack trace');
}

const MALFORMED: [string, string, RegExp][] = [
  ['unknown instruction', 'FROM scratch\nCOPY a /a\nRUNN echo\n', /^Error: Containerfile:3: unknown instruction: RUNN/],
  ['unknown flag', 'FROM scratch\n\nCOPY --chmode=644 a /a\n', /^Error: Containerfile:3: unknown flag: --chmode/],
  ['COPY without destination', 'FROM scratch\nCOPY a\n', /^Error: Containerfile:2: COPY requires at least two arguments/],
  ['instruction before FROM', 'ENV A=1\nFROM scratch\n', /^Error: Containerfile:1: /],
  ['no FROM', '# nothing\n', /^Error: Containerfile:1: /],
  ['unterminated heredoc', 'FROM scratch\nCOPY <<EOF /x\nhello\n', /^Error: Containerfile:2: /],
  ['error after a continuation', 'FROM scratch\nLABEL a=b \\\n  c=d\nWORKDIR\n', /^Error: Containerfile:4: WORKDIR requires exactly one argument/],
  ['SHELL not JSON', 'FROM scratch\nSHELL /bin/bash -c\n', /^Error: Containerfile:2: SHELL requires the arguments to be in JSON form/],
  ['missing COPY source', 'FROM scratch\nCOPY nope.txt /x\n', /^Error: Containerfile:2: COPY failed: file not found/],
  ['COPY escaping the context', 'FROM scratch\nCOPY ../outside /x\n', /^Error: Containerfile:2: COPY failed: forbidden path outside the build context/],
  ['unknown base image', 'FROM localhost/no-such-image:1\n', /^Error: Containerfile:1: .*localhost\/no-such-image:1/],
  ['unknown --chown user', 'FROM scratch\nCOPY --chown=nobody a /a\n', /^Error: Containerfile:2: unable to find user nobody/],
  ['bad EXPOSE', 'FROM scratch\nEXPOSE 80/xyz\n', /^Error: Containerfile:2: invalid port/],
  ['COPY --from an unknown name', 'FROM scratch\nCOPY --from=nostage a /a\n', /^Error: Containerfile:2: COPY --from=nostage: no stage or image found with that name$/],
  ['COPY --from empty', 'FROM scratch\nCOPY --from= a /a\n', /^Error: Containerfile:2: COPY --from= is empty: it must name a stage or an image$/],
  ['COPY --from expanding to nothing', 'FROM scratch\nARG S\nCOPY --from=$S a /a\n', /^Error: Containerfile:3: COPY --from= is empty/],
  ['COPY --from an invalid reference', 'FROM scratch\nCOPY --from=Bad@Ref a /a\n', /^Error: Containerfile:2: COPY --from=Bad@Ref: /],
  ['RUN --mount from an unknown name', 'FROM scratch\nRUN --mount=from=nostage,target=/x true\n', /^Error: Containerfile:2: RUN --mount from=nostage: no stage or image found with that name$/],
];

for (const [name, containerfile, pattern] of MALFORMED) {
  test(`malformed Containerfile: ${name}`, () => {
    const ctx = tmp.dir(`ctx-${name.replace(/\W+/g, '-')}`);
    tmp.file(`ctx-${name.replace(/\W+/g, '-')}/Containerfile`, containerfile);
    tmp.file(`ctx-${name.replace(/\W+/g, '-')}/a`, 'a\n');
    const r = tsbuild(['build', '--root', root, '--pull=never', '-t', 'should-not-exist', ctx]);
    assertOneLineError(r, pattern);
    assert.notEqual(tsbuild(['inspect', '--root', root, 'should-not-exist']).status, 0, 'nothing was tagged');
  });
}

test('an unknown --from says which stage was meant', () => {
  const ctx = tmp.dir('from-hint');
  tmp.file('from-hint/Containerfile', 'FROM scratch AS builder\nCOPY a /a\nFROM scratch\nCOPY --from=buidler /a /a\n');
  tmp.file('from-hint/a', 'a\n');
  let r = tsbuild(['build', '--root', root, '--pull=never', ctx]);
  assertOneLineError(r, /^Error: Containerfile:4: COPY --from=buidler: no stage or image found with that name$/);
  assert.match(r.stderr, /^Hint: did you mean stage "builder"\?$/m);
  tmp.file('from-hint/Containerfile', 'FROM scratch\nCOPY --from=later /a /a\nFROM scratch AS later\nCOPY --from=0 /a /b\n');
  r = tsbuild(['build', '--root', root, '--pull=never', ctx]);
  assertOneLineError(r, /^Error: Containerfile:2: COPY --from=later: no stage or image found with that name$/);
  assert.match(r.stderr, /^Hint: stage "later" is defined after this line; only earlier stages can be used$/m);
});

test('a misspelled instruction gets a hint', () => {
  const ctx = tmp.dir('hint');
  tmp.file('hint/Containerfile', 'FROM scratch\nCOPPY a /a\n');
  const r = tsbuild(['build', '--root', root, ctx]);
  assert.match(r.stderr, /^Hint: did you mean COPY\?$/m);
});

test('a base image of another platform than the build is refused at its FROM line', () => {
  const host = `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`;
  tmp.file('plat-base/Containerfile', 'FROM scratch\nLABEL made=here\n');
  assert.equal(tsbuild(['build', '--root', root, '-t', 'plat-base', tmp.dir('plat-base')]).status, 0);
  tmp.file('plat/Containerfile', 'FROM scratch\nLABEL first=stage\n\nFROM localhost/plat-base\nLABEL b=c\n');
  const r = tsbuild(['build', '--root', root, '--platform', 'linux/s390x', '-t', 'should-not-exist', tmp.dir('plat')]);
  assertOneLineError(r, new RegExp(`^Error: Containerfile:4: base image localhost/plat-base is ${host}, not linux/s390x`));
  assert.equal(tsbuild(['build', '--root', root, '--platform', host, tmp.dir('plat')]).status, 0, 'the matching platform builds');
});

test('a source symlink pointing outside the context resolves inside it, where nothing is: one positioned line', () => {
  const ctx = tmp.dir('escape-link');
  tmp.file('escape-link/Containerfile', 'FROM scratch\nCOPY evil /evil\n');
  symlinkSync('/etc/shadow', join(ctx, 'evil'));
  assertOneLineError(tsbuild(['build', '--root', root, '-t', 'escape-link', ctx]), /^Error: Containerfile:2: COPY failed: file not found in build context .*: stat evil: file does not exist$/);
});

test('command-line errors: unknown image, bad transport, bad flag', () => {
  assertOneLineError(tsbuild(['inspect', '--root', root, 'nothere']), /^Error: nothere: image not known$/);
  assertOneLineError(tsbuild(['push', '--root', root, 'nothere', 'oci:/tmp/x']), /^Error: nothere: image not known$/);
  assertOneLineError(tsbuild(['pull', '--root', root, 'oci:/no/such/layout']), /^Error: .*\/no\/such\/layout/);
  const bad = tsbuild(['build', '--no-such-flag']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown option '--no-such-flag'/);
  assertOneLineError(tsbuild(['build', '--root', root, join(tmp.path, 'missing-dir')]), /^Error: build context .* is not a directory$/);
  // A file where the store should be: the user's to fix, not an internal error.
  assertOneLineError(tsbuild(['images', '--root', '/etc/passwd']), /^Error: cannot use \/etc\/passwd as the store: ENOTDIR/);
  assertOneLineError(tsbuild(['images', '--root', '/proc/x']), /^Error: cannot use \/proc\/x as the store: it is in a kernel file system$/);
});
