// Each command as a new user meets it: its happy path, its most likely error (one line, the right
// exit code), --help with examples on every command, history, version, and the caret under the
// offending word of a Containerfile error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TempDir, tsbuild, tsbuildOk, lastLine } from '../helpers/cli.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';

let tmp: TempDir;
let root: string;
let busybox: BusyboxImage;
let appId: string;

before(() => {
  tmp = new TempDir();
  root = tmp.dir('store');
  busybox = makeBusyboxImage();
  tsbuildOk(['pull', '-q', '--root', root, `docker-archive:${busybox.dockerArchive}`]);
  tmp.file('app/msg.txt', 'hi\n');
  tmp.file('app/Containerfile', 'FROM busybox\nCOPY msg.txt /msg.txt\nRUN echo built > /built\nLABEL app=yes\nCMD ["cat", "/msg.txt"]\n');
  appId = lastLine(tsbuildOk(['build', '-q', '--root', root, '-t', 'app', tmp.path + '/app']).stdout);
});
after(() => {
  busybox?.cleanup();
  tmp?.cleanup();
});

function oneLineError(r: { status: number; stderr: string }, pattern: RegExp, status = 1): void {
  assert.equal(r.status, status, r.stderr);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('Error: ') || l.startsWith('error: '));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0]!, pattern);
  assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
}

test('--help of every command (and subcommand) shows examples', () => {
  const top = tsbuildOk(['--help']).stdout;
  assert.match(top, /Examples:/);
  const names = [...top.matchAll(/^  ([a-z][a-z0-9-]*)(\|[a-z]+)? /gm)].map((m) => m[1]!).filter((n) => n !== 'help');
  assert.ok(names.length >= 18, `commands listed: ${names.join(' ')}`);
  for (const n of [...names, 's2i build', 's2i usage']) {
    const r = tsbuildOk([...n.split(' '), '--help']);
    assert.match(r.stdout, /\nExamples:\n {2}(\S.*)?tsbuild /, `tsbuild ${n} --help has examples`);
  }
});

test('version and --version', () => {
  assert.match(tsbuildOk(['version']).stdout, /^Version: +\d+\.\d+\.\d+\nNode\.js: +v\d+/);
  const json = JSON.parse(tsbuildOk(['version', '--format', 'json']).stdout) as { Version: string; NativeAddon: boolean };
  assert.match(json.Version, /^\d+\.\d+\.\d+/);
  assert.equal(tsbuildOk(['--version']).stdout.trim(), json.Version);
});

test('--root before the command applies to it (as buildah --root DIR images); a --root after the command wins', () => {
  const other = tmp.dir('other-store');
  assert.match(tsbuildOk(['--root', root, 'images', '--format', '{{.Repository}}']).stdout, /^localhost\/app$/m);
  assert.equal(tsbuildOk(['--root', root, 'images', '--root', other, '--format', '{{.Repository}}']).stdout, '');
  assert.ok(tsbuildOk(['--root', root, 'inspect', 'app']).stdout.includes(appId));
  assert.equal(tsbuildOk(['inspect', '--root', root, '--format', '{{.Id}} {{json .RepoTags}}', 'app']).stdout, `${appId} ["localhost/app:latest"]\n`);
});

test('history: one row per step, newest first, with sizes; json and templates; unknown image', () => {
  const table = tsbuildOk(['history', '--root', root, 'app']).stdout.trim().split('\n');
  assert.match(table[0]!, /^ID +STEP +CREATED +CREATED BY +SIZE +COMMENT$/);
  assert.match(table[1]!, new RegExp(`^${appId.slice(0, 12)} .*CMD \\["cat", "/msg.txt"\\]`));
  assert.match(table.find((l) => l.includes('COPY msg.txt'))!, /<missing> .* \d+ B /);
  const rows = JSON.parse(tsbuildOk(['history', '--root', root, '--format', 'json', 'app']).stdout) as { Step: number; CreatedBy: string; Size: number; EmptyLayer: boolean }[];
  const steps = rows.map((r) => r.Step);
  assert.deepEqual(steps, [...steps].sort((a, b) => b - a), 'newest first');
  const copy = rows.find((r) => r.CreatedBy.startsWith('COPY msg.txt'))!;
  assert.ok(copy.Size > 0 && !copy.EmptyLayer);
  assert.ok(rows.find((r) => r.CreatedBy.startsWith('LABEL'))!.EmptyLayer);
  const tpl = tsbuildOk(['history', '--root', root, '--format', '{{.Step}}|{{.CreatedBy}}', 'app']).stdout;
  assert.match(tpl, /^\d+\|RUN .*echo built > \/built/m);
  oneLineError(tsbuild(['history', '--root', root, 'no-such-image']), /no-such-image/);
});

test('images: table, templates, json; unknown template field is a usage error with the field list', () => {
  const table = tsbuildOk(['images', '--root', root]).stdout;
  assert.match(table, /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE\n/);
  assert.match(table, /^localhost\/app +latest +[0-9a-f]{12} +(\d+ seconds|Less than a second) ago +\d/m);
  assert.match(tsbuildOk(['images', '--root', root, '--format', '{{.Repository}}:{{.Tag}}']).stdout, /^localhost\/app:latest$/m);
  // -q: IDs only, each once; NAME: only that repository (podman images -q, podman images NAME).
  const ids = tsbuildOk(['images', '--root', root, '-q']).stdout.trim().split('\n');
  assert.ok(ids.includes(appId.slice(0, 12)) && new Set(ids).size === ids.length && ids.every((i) => /^[0-9a-f]{12}$/.test(i)), ids.join(' '));
  assert.equal(tsbuildOk(['images', '--root', root, '-q', '--no-trunc', 'app']).stdout, appId + '\n');
  assert.equal(tsbuildOk(['images', '--root', root, '-q', 'app:other']).stdout, '');
  const json = JSON.parse(tsbuildOk(['images', '--root', root, '--format', 'json']).stdout) as { Id: string }[];
  assert.ok(json.some((i) => i.Id === appId));
  const bad = tsbuild(['images', '--root', root, '--format', '{{.Colour}}']);
  oneLineError(bad, /unknown field \{\{\.Colour\}\}/, 2);
  assert.match(bad.stderr, /Hint: fields: .*\.Repository/);
});

test('inspect, tag, rmi, push, run, prune, info, check-store: happy paths', () => {
  assert.equal((JSON.parse(tsbuildOk(['inspect', '--root', root, 'app']).stdout) as { Id: string }).Id, appId);
  assert.ok(JSON.parse(tsbuildOk(['inspect', '--root', root, '--type', 'manifest', 'app']).stdout).layers.length >= 2);
  tsbuildOk(['tag', '--root', root, 'app', 'app:v2']);
  assert.match(tsbuildOk(['rmi', '--root', root, 'app:v2']).stdout, /^Untagged: localhost\/app:v2$/m);
  const archive = join(tmp.path, 'app.tar');
  tsbuildOk(['push', '-q', '--root', root, 'app', `oci-archive:${archive}`]);
  assert.ok(existsSync(archive));
  assert.equal(tsbuildOk(['run', '--rm', '--root', root, 'app']).stdout, 'hi\n');
  tsbuildOk(['prune', '--root', root]);
  assert.match(tsbuildOk(['info', '--root', root]).stdout, /^isolation chroot: /m);
  tsbuildOk(['check-store', '-q', '--root', root]);
});

test('the most likely error of each command is one line with the right exit code', () => {
  oneLineError(tsbuild(['build', '--root', root, tmp.dir('empty')]), /no Containerfile or Dockerfile found/);
  oneLineError(tsbuild(['inspect', '--root', root, 'nope']), /nope/);
  oneLineError(tsbuild(['tag', '--root', root, 'nope', 'x']), /nope/);
  oneLineError(tsbuild(['rmi', '--root', root, 'nope']), /nope/);
  oneLineError(tsbuild(['push', '--root', root, 'nope', 'oci:/tmp/x']), /nope/);
  oneLineError(tsbuild(['pull', '--root', root, 'docker-archive:/no/such.tar']), /no\/such\.tar/);
  oneLineError(tsbuild(['run', '--root', root, 'nope']), /nope/);
  oneLineError(tsbuild(['login', 'registry.example']), /needs --username/);
  oneLineError(tsbuild(['logout', '--authfile', join(tmp.path, 'auth.json'), 'registry.example']), /not logged into registry\.example/);
  oneLineError(tsbuild(['build', '--root', root, '--progress=fancy', '.']), /--progress/, 2);
  oneLineError(tsbuild(['imagez']), /unknown command 'imagez'/, 2);
});

test('a Containerfile error shows the line with a caret under the offending word, and a hint', () => {
  tmp.file('typo/Containerfile', 'FROM busybox\nCOPY  --chmod=644 --frm=x msg.txt /\n');
  const r = tsbuild(['build', '--root', root, tmp.path + '/typo']);
  oneLineError(r, /^Error: Containerfile:2: unknown flag: --frm$/);
  const lines = r.stderr.split('\n');
  const i = lines.findIndex((l) => l.startsWith('2 | '));
  assert.equal(lines[i], '2 | COPY  --chmod=644 --frm=x msg.txt /');
  assert.equal(lines[i + 1]!.indexOf('^'), lines[i]!.indexOf('--frm'), 'the caret is under --frm');
  assert.match(r.stderr, /^Hint: did you mean --from\?$/m);

  tmp.file('typo2/Dockerfile.dev', 'FROM busybox\n  RUNN echo\n');
  const r2 = tsbuild(['build', '--root', root, '-f', join(tmp.path, 'typo2/Dockerfile.dev'), tmp.path + '/typo2']);
  const l2 = r2.stderr.split('\n');
  const j = l2.findIndex((l) => l.startsWith('2 | '));
  assert.equal(l2[j + 1]!.indexOf('^'), l2[j]!.indexOf('RUNN'));
  assert.match(r2.stderr, /^Hint: did you mean RUN\?$/m);
});

test('buildah flags CI scripts pass: -f - (stdin), a bare --label key', () => {
  const ctx = tmp.dir('ci');
  tmp.file('ci/a.txt', 'a\n');
  tmp.file('ci/Containerfile', 'FROM scratch\nLABEL from=the-file\n');
  const labels = (ref: string) => JSON.parse(tsbuildOk(['inspect', '--root', root, ref]).stdout).Config.Labels;

  // -f -: the Containerfile on standard input, not the context's; its errors quote the stdin text.
  const built = tsbuild(['build', '--root', root, '-f', '-', '-t', 'ci', '--label', 'bare', '--label', 'empty=', '--label', 'k=v', ctx], { input: 'FROM scratch\nCOPY a.txt /\nLABEL from=stdin\n' });
  assert.equal(built.status, 0, built.stderr);
  assert.deepEqual(labels('ci'), { from: 'stdin', bare: '', empty: '', k: 'v' }, 'a bare --label key gets an empty value, as in buildah');
  const bad = tsbuild(['build', '--root', root, '-f', '-', ctx], { input: 'FROM scratch\n  RUNN x\n' });
  oneLineError(bad, /^Error: Containerfile:2: unknown instruction: RUNN/);
  assert.match(bad.stderr, /^2 \|   RUNN x$/m, 'the excerpt is from standard input');
  oneLineError(tsbuild(['build', '--root', root, '--label', '=v', ctx]), /^Error: invalid label "=v"/);
  assert.match(tsbuildOk(['build', '--help']).stdout, /-f, --file <path> +Containerfile to use, - for standard input/);
});

test('--tls-verify is a Go-style boolean as in podman: alone it never takes the image as its value', () => {
  const archive = `docker-archive:${busybox.dockerArchive}`;
  for (const flags of [['--tls-verify'], ['--tls-verify=true'], ['--tls-verify=false'], ['--no-tls-verify']]) {
    const r = tsbuild(['pull', '-q', '--root', root, ...flags, archive]);
    assert.equal(r.status, 0, `${flags.join(' ')}: ${r.stderr}`);
  }
  oneLineError(tsbuild(['pull', '--root', root, '--tls-verify=maybe', archive]), /^error: option '--tls-verify' takes true or false, got 'maybe'$/, 2);
});

test('buildah flags CI scripts pass: --layers[=bool], --rm, --force-rm; refused ones say why', () => {
  const ctx = tmp.dir('ci-flags');
  tmp.file('ci-flags/a.txt', 'only in ci-flags\n');

  // Go-style booleans: a bare flag never takes the next word (here the context) as its value.
  const steps = (args: string[]) => {
    const r = tsbuild(['build', '--root', root, '-f', '-', ...args, ctx], { input: 'FROM scratch\nCOPY a.txt /\n' });
    assert.equal(r.status, 0, r.stderr);
    return r.stderr.split('\n').filter((l) => l.startsWith('--> '));
  };
  assert.equal(steps([]).length, 1);
  for (const flags of [['--layers'], ['--layers=true'], ['--rm'], ['--rm=false'], ['--force-rm'], ['--force-rm=true', '--rm=true']]) {
    assert.deepEqual(steps(flags), ['--> CACHED'], flags.join(' '));
  }
  assert.deepEqual(steps(['--layers=false']), ['--> COPY a.txt ...: --no-cache'], '--layers=false uses no cached step');
  oneLineError(tsbuild(['build', '--root', root, '--layers=maybe', ctx]), /^error: option '--layers' takes true or false, got 'maybe'$/, 2);

  for (const [args, name] of [[['--squash'], '--squash'], [['-v', '/host:/ctr'], '--volume'], [['--volume=/host:/ctr'], '--volume'], [['--add-host', 'db:10.0.0.2'], '--add-host']] as const) {
    oneLineError(tsbuild(['build', '--root', root, ...args, ctx]), new RegExp(`^Error: ${name} is not supported: `), 2);
  }

  const help = tsbuildOk(['build', '--help']).stdout;
  assert.match(help, /--layers +for buildah scripts/);
  assert.match(help, /--force-rm +for buildah scripts, no effect/);
  assert.doesNotMatch(help, /--squash|--volume|--add-host|--no-layers/, 'refused and helper flags stay out of --help');
});

test('--debug adds the stack trace of an internal error only; it is taken after the command too', () => {
  for (const args of [['--debug', 'inspect', '--root', root, 'nope'], ['inspect', '--debug', '--root', root, 'nope'], ['s2i', 'usage', '--debug', '--root', root, 'nope']]) {
    const r = tsbuild(args);
    assert.notEqual(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^Error: /m);
    assert.doesNotMatch(r.stderr, /unknown option/);
  }
});
