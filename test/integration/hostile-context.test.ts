// Hostile build contexts: COPY of ../x, of symlinks pointing outside the context or at /etc/shadow,
// of absolute symlinks, of symlinked directories in the middle of a path, from another stage through
// its symlinks, and into destinations that are symlinks out of the rootfs. Each case either fails
// with a positioned one-line error or builds an image holding none of the outside content (a source
// symlink is followed with the context as its root: what it names *in the context* is copied); and a
// marker tree outside the context and store proves nothing outside was read into the image,
// created or changed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TempDir, tsbuild } from '../helpers/cli.js';
import { Marker, imageBlobs, layerEntries } from '../fuzz/hostile-kit.js';

let tmp: TempDir;
let root: string;
let marker: Marker;
let shadowLine: string;
let n = 0;

before(() => {
  tmp = new TempDir();
  root = tmp.dir('store');
  marker = new Marker(tmp.dir('outside'));
  tmp.file('outside/secret.txt', marker.secret + '\n');
  tmp.file('outside/dir/inner.txt', marker.secret + '-inner\n');
  marker.snapshot();
  shadowLine = readFileSync('/etc/shadow', 'utf8').split('\n')[0];
});
after(() => tmp.cleanup());

interface Case {
  name: string;
  containerfile: (outside: string, sentinel: string) => string;
  /** Extra context setup: symlinks etc. */
  setup?: (ctx: string, outside: string) => void;
  /** 'fail' or 'ok' when the outcome is fixed; undefined: either is acceptable if contained. */
  expect?: 'fail' | 'ok';
  /** Text the image must hold (a decoy in the context that a link resolves to). */
  holds?: string;
}

const DECOY = 'decoy file of the context';

function ln(ctx: string, name: string, target: string): void {
  mkdirSync(join(ctx, name, '..'), { recursive: true });
  symlinkSync(target, join(ctx, name));
}

/** A file at `rel` inside the context (an absolute `rel` too) holding DECOY. */
function decoy(ctx: string, rel: string): void {
  const p = join(ctx, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, DECOY + '\n');
}

const CASES: Case[] = [
  { name: 'COPY ../x', containerfile: () => 'FROM scratch\nCOPY ../outside/secret.txt /x\n', expect: 'fail' },
  { name: 'COPY ../../../etc/shadow', containerfile: () => 'FROM scratch\nCOPY ../../../../../../etc/shadow /x\n', expect: 'fail' },
  { name: 'COPY /etc/shadow (absolute source is context-relative)', containerfile: () => 'FROM scratch\nCOPY /etc/shadow /x\n', expect: 'fail' },
  { name: 'relative symlink out of the context', setup: (c) => ln(c, 'evil', '../outside/secret.txt'), containerfile: () => 'FROM scratch\nCOPY evil /x\n', expect: 'fail' },
  { name: 'absolute symlink to the secret', setup: (c, o) => ln(c, 'evil', join(o, 'secret.txt')), containerfile: () => 'FROM scratch\nCOPY evil /x\n', expect: 'fail' },
  { name: 'symlink to /etc/shadow', setup: (c) => ln(c, 'shadow', '/etc/shadow'), containerfile: () => 'FROM scratch\nCOPY shadow /x\n', expect: 'fail' },
  {
    name: 'symlink to /etc/shadow reads the context\'s etc/shadow',
    setup: (c) => { ln(c, 'shadow', '/etc/shadow'); decoy(c, 'etc/shadow'); },
    containerfile: () => 'FROM scratch\nCOPY shadow /x\n',
    expect: 'ok',
    holds: DECOY,
  },
  {
    name: 'relative symlink climbing out stops at the context root',
    setup: (c) => { ln(c, 'a/b/evil', '../../../../../outside/secret.txt'); decoy(c, 'outside/secret.txt'); },
    containerfile: () => 'FROM scratch\nCOPY a/b/evil /x\n',
    expect: 'ok',
    holds: DECOY,
  },
  {
    name: 'wildcard matching a symlink to the outside reads the context',
    setup: (c, o) => { ln(c, 'link-1', join(o, 'secret.txt')); decoy(c, join(o, 'secret.txt')); },
    containerfile: () => 'FROM scratch\nCOPY link-* /w/\n',
    expect: 'ok',
    holds: DECOY,
  },
  { name: 'symlink to / is the context root', setup: (c) => ln(c, 'root', '/'), containerfile: () => 'FROM scratch\nCOPY root/a.txt /x\n', expect: 'ok', holds: 'harmless' },
  { name: 'symlinked directory in the middle of a path', setup: (c) => ln(c, 'sub', '../outside'), containerfile: () => 'FROM scratch\nCOPY sub/secret.txt /x\n' },
  { name: 'absolute symlinked directory in the middle of a path', setup: (c, o) => ln(c, 'a/b', o), containerfile: () => 'FROM scratch\nCOPY a/b/dir/inner.txt /x\n' },
  { name: 'symlink to /etc in the middle of a path', setup: (c) => ln(c, 'etc', '/etc'), containerfile: () => 'FROM scratch\nCOPY etc/shadow /x\n' },
  { name: 'symlinked directory copied with a trailing slash', setup: (c) => ln(c, 'sub', '../outside'), containerfile: () => 'FROM scratch\nCOPY sub/ /d/\n' },
  { name: 'wildcards through symlinks', setup: (c, o) => { ln(c, 'sub', '../outside'); ln(c, 'abs', o); }, containerfile: () => 'FROM scratch\nCOPY sub*/secret* ab*/dir/* /w/\n' },
  {
    name: 'COPY . keeps hostile symlinks as symlinks, never their targets',
    setup: (c, o) => { ln(c, 'evil', '../outside/secret.txt'); ln(c, 'abs', o); ln(c, 'shadow', '/etc/shadow'); ln(c, 'loop', 'loop'); },
    containerfile: () => 'FROM scratch\nCOPY . /all/\n',
    expect: 'ok',
  },
  { name: 'destination with ../ stays in the rootfs', containerfile: (_o, s) => `FROM scratch\nCOPY a.txt ../../../../../../tmp/${s}\n`, expect: 'ok' },
  { name: 'WORKDIR ../.. then a relative destination', containerfile: (_o, s) => `FROM scratch\nWORKDIR ../../../..\nCOPY a.txt ./${s}\n`, expect: 'ok' },
  // The symlinks below reach the image as links inside a copied directory (`COPY links/ /`).
  {
    name: 'destination below a symlink to the outside directory (absolute)',
    setup: (c, o) => ln(c, 'links/out', o),
    containerfile: (_o, s) => `FROM scratch\nCOPY links/ /\nCOPY a.txt /out/${s}\nCOPY a.txt /out/secret.txt\n`,
    expect: 'ok',
  },
  {
    name: 'destination below a relative symlink climbing out of the rootfs',
    setup: (c) => ln(c, 'links/up', '../../../../../../../../tmp'),
    containerfile: (_o, s) => `FROM scratch\nCOPY links/ /\nCOPY a.txt /up/${s}\n`,
    expect: 'ok',
  },
  {
    name: 'destination that is itself a symlink to a host file',
    setup: (c, o) => ln(c, 'links/target', join(o, 'secret.txt')),
    containerfile: () => 'FROM scratch\nCOPY links/ /\nCOPY a.txt /target\n',
    expect: 'ok',
  },
  {
    name: 'COPY --from a stage through its hostile symlinks',
    setup: (c, o) => { ln(c, 'links/sub', o); ln(c, 'links/shadow', '/etc/shadow'); },
    containerfile: () => 'FROM scratch AS a\nCOPY links/ /\nFROM scratch\nCOPY --from=a /sub/secret.txt /x\nCOPY --from=a /shadow /y\n',
    expect: 'fail',
  },
  { name: 'COPY --from a stage with ../ in the source', containerfile: () => 'FROM scratch AS a\nCOPY a.txt /a\nFROM scratch\nCOPY --from=a ../../../../etc/shadow /y\n', expect: 'fail' },
];

for (const c of CASES) {
  test(`hostile context: ${c.name}`, () => {
    const ctx = tmp.dir(`ctx${++n}`);
    const outside = join(tmp.path, 'outside');
    tmp.file(`ctx${n}/a.txt`, 'harmless\n');
    c.setup?.(ctx, outside);
    tmp.file(`ctx${n}/Containerfile`, c.containerfile(outside, marker.sentinel));
    const tag = `hostile-ctx-${n}`;
    const r = tsbuild(['build', '--root', root, '-t', tag, ctx]);
    if (r.status !== 0) {
      assert.notEqual(c.expect, 'ok', `expected success:\n${r.stderr}`);
      assert.equal(r.status, 1, `a clean user error, not an internal one:\n${r.stderr}`);
      const errLines = r.stderr.split('\n').filter((l) => l.startsWith('Error:'));
      assert.equal(errLines.length, 1, r.stderr);
      assert.match(errLines[0], /Containerfile:\d+: /, 'the error names the line');
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
    } else {
      assert.notEqual(c.expect, 'fail', `expected a failure, got an image:\n${r.stderr}`);
      const blobs = imageBlobs(root, `localhost/${tag}:latest`, tmp.path);
      for (const b of blobs) {
        assert.ok(!b.data.includes(marker.secret), `outside content leaked into blob ${b.name}`);
        assert.ok(!b.data.includes(shadowLine), `/etc/shadow leaked into blob ${b.name}`);
      }
      if (c.holds) assert.ok(blobs.some((b) => b.data.includes(c.holds!)), `the image holds "${c.holds}"`);
      // Entry names (not symlink targets, which are only data) must stay below the root.
      for (const e of layerEntries(blobs)) assert.doesNotMatch(e, /^\/|^\.\.(\/|$)|\/\.\.(\/|$)/, `layer entry escapes: ${e}`);
    }
    assert.deepEqual(marker.changes(tmp.path, root), [], 'nothing outside the store was created or changed');
  });
}

test('an error quoting hostile text stays one line, with control characters escaped', () => {
  const ctx = tmp.dir(`ctx${++n}`);
  tmp.file(`ctx${n}/Containerfile`, 'FROM scratch\nENV A=${X:?\x1b[2J\x1b[1;1Hfake\rline}\n');
  const r = tsbuild(['build', '--root', root, ctx]);
  assert.equal(r.status, 1, r.stderr);
  const err = r.stderr.split('\n').filter((l) => l.startsWith('Error:'));
  assert.equal(err.length, 1, r.stderr);
  assert.match(err[0]!, /^Error: Containerfile:2: /);
  assert.doesNotMatch(r.stderr, /[\x1b\r]/, 'no raw escape or carriage return reaches the terminal');
});

test('a context file name that is not UTF-8 stops COPY, naming it, unless the ignore file excludes it', () => {
  const ctx = tmp.dir(`ctx${++n}`);
  tmp.file(`ctx${n}/a.txt`, 'harmless\n');
  mkdirSync(join(ctx, 'sub'));
  // Node would read this name back as "caf\uFFFD.txt", which names no file: it must not just vanish.
  writeFileSync(Buffer.concat([Buffer.from(join(ctx, 'sub', 'caf')), Buffer.from([0xe9]), Buffer.from('.txt')]), 'latin-1 name\n');
  tmp.file(`ctx${n}/Containerfile`, 'FROM scratch\nCOPY . /app\n');
  const r = tsbuild(['build', '--root', root, '-t', 'non-utf8', ctx]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^Error: Containerfile:2: COPY failed: the build context has a file name that is not UTF-8: "sub\/caf\\xe9\.txt"$/m);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  tmp.file(`ctx${n}/.containerignore`, 'sub/caf*\n');
  const ok = tsbuild(['build', '--root', root, '-t', 'non-utf8', ctx]);
  assert.equal(ok.status, 0, ok.stderr);
  const entries = layerEntries(imageBlobs(root, 'localhost/non-utf8:latest', tmp.path));
  assert.ok(entries.some((e) => /app\/a\.txt$/.test(e)), entries.join(' '));
  assert.ok(!entries.some((e) => /caf/.test(e)), 'the excluded file stays out');
});

test('a glob or COPY --exclude that leaves such a name out does not stop the build; one that takes it does', () => {
  const ctx = tmp.dir(`ctx${++n}`);
  tmp.file(`ctx${n}/a.txt`, 'harmless\n');
  tmp.file(`ctx${n}/real-\uFFFD.txt`, 'a name that is UTF-8 and holds U+FFFD\n');
  writeFileSync(Buffer.concat([Buffer.from(join(ctx, 'caf')), Buffer.from([0xe9]), Buffer.from('.txt')]), 'latin-1 name\n');
  const build = (containerfile: string, tag: string) => {
    tmp.file(`ctx${n}/Containerfile`, containerfile);
    return tsbuild(['build', '--root', root, '-t', tag, ctx]);
  };
  const glob = build('FROM scratch\nCOPY a*.txt /app/\n', 'non-utf8-glob');
  assert.equal(glob.status, 0, glob.stderr);
  const excluded = build('FROM scratch\nCOPY --exclude=caf* . /app/\n', 'non-utf8-exclude');
  assert.equal(excluded.status, 0, excluded.stderr);
  const entries = layerEntries(imageBlobs(root, 'localhost/non-utf8-exclude:latest', tmp.path));
  assert.ok(entries.some((e) => e.endsWith('app/real-\uFFFD.txt')), `a real U+FFFD name is copied: ${entries.join(' ')}`);
  const taken = build('FROM scratch\nCOPY c*.txt /app/\n', 'non-utf8-taken');
  assert.equal(taken.status, 1, taken.stderr);
  assert.match(taken.stderr, /^Error: Containerfile:2: COPY failed: the build context has a file name that is not UTF-8: "caf\\xe9\.txt"$/m);
});
