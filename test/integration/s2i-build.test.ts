// tsbuild s2i end to end with the §P busybox test builder (fixtures/s2i/test-builder) and the sample
// apps: clean and incremental builds, assemble user, failures and exit codes, script overrides,
// environment precedence, git sources at a ref, --as-dockerfile built by buildah, usage, runtime
// images (fixtures/s2i/test-runtime), and the whole flow as an unprivileged user (rootless).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CLI, lastLine, tsbuildAsync } from '../helpers/cli.js';
import { makeBusyboxImage, REPO_ROOT, type BusyboxImage } from '../helpers/busybox-image.js';
import { chownTree, ensureTestUser, tempDir, type TestUser } from '../helpers/native-rootfs.js';
import { Podman } from '../helpers/podman.js';
import { Buildah } from '../helpers/buildah.js';
import { diffTrees, snapshotTree } from '../helpers/tree.js';

const FIX = join(REPO_ROOT, 'fixtures/s2i');
let work: string;
let busybox: BusyboxImage;
let user: TestUser;
let root: string;
let podman: Podman;

interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

/** The real CLI, as root or (rootless) as the unprivileged test user. */
function cli(args: string[], opts: { rootless?: boolean; cwd?: string } = {}): Result {
  const r = opts.rootless
    ? spawnSync('runuser', ['-u', user.name, '--', process.execPath, CLI, ...args], { encoding: 'utf8', cwd: opts.cwd ?? '/', timeout: 300_000 })
    : spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: opts.cwd ?? work, timeout: 300_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function ok(args: string[], opts: { rootless?: boolean; cwd?: string } = {}): Result {
  const r = cli(args, opts);
  assert.equal(r.status, 0, `tsbuild ${args.join(' ')}:\n${r.stderr}\n${r.stdout}`);
  return r;
}

let n = 0;
/** Push an image to an OCI layout and unpack it with umoci (as root): its rootfs and config. */
function unpack(storeRoot: string, image: string, rootless = false): { rootfs: string; config: Record<string, any> } {
  const id = `u${++n}`;
  const layout = join(work, `${id}-oci`);
  ok(['push', '--root', storeRoot, image, `oci:${layout}:img`], { rootless });
  const bundle = join(work, `${id}-bundle`);
  execFileSync('umoci', ['unpack', '--image', `${layout}:img`, bundle], { stdio: 'pipe' });
  const config = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${layout}:img`], { encoding: 'utf8' }));
  return { rootfs: join(bundle, 'rootfs'), config };
}

function read(rootfs: string, p: string): string {
  return readFileSync(join(rootfs, p), 'utf8');
}

/** Kind, mode and owner of a path in an unpacked rootfs, e.g. `file 0755 0:0`. */
function meta(rootfs: string, p: string): string {
  const st = lstatSync(join(rootfs, p));
  const kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? `link->${readlinkSync(join(rootfs, p))}` : 'file';
  return `${kind} ${(st.mode & 0o7777).toString(8).padStart(4, '0')} ${st.uid}:${st.gid}`;
}

/** A copy of a fixture app the test may change. */
function app(name: string, fixture = 'app'): string {
  const dir = join(work, name);
  cpSync(join(FIX, fixture), dir, { recursive: true });
  chownTree(dir, user.uid, user.gid);
  return dir;
}

before(() => {
  user = ensureTestUser();
  // Owned by the test user, so its rootless runs can write next to root's.
  work = tempDir('tsbuild-s2i-', user);
  busybox = makeBusyboxImage();
  root = join(work, 'store');
  ok(['pull', '--root', root, `docker-archive:${busybox.dockerArchive}`]);
  ok(['build', '--root', root, '-t', 's2i-test-builder', join(FIX, 'test-builder')]);
  podman = new Podman();
});
after(() => {
  podman?.cleanup();
  busybox?.cleanup();
  // rootless stores hold files owned by subordinate ids: root removes them.
  if (work) execFileSync('rm', ['-rf', work]);
});

test('clean build: sources, ignore, env file, assemble as 1001:0, output config, podman run', () => {
  const src = app('clean');
  const r = ok(['s2i', 'build', '--root', root, src, 's2i-test-builder', 's2i-app']);
  assert.match(r.stderr, /assemble: uid=1001 gid=0 cwd=\/opt\/app-root\/src/);
  const id = lastLine(r.stdout);
  assert.match(id, /^[a-f0-9]{64}$/);
  const { rootfs, config } = unpack(root, 's2i-app');
  assert.equal(read(rootfs, 'opt/app-root/state/build-count'), '1\n');
  assert.equal(read(rootfs, 'tmp/src/index.txt'), 'hello from the app source\n');
  assert.ok(!existsSync(join(rootfs, 'tmp/src/secret.txt')), '.s2iignore: secret.txt never reaches the image');
  assert.ok(!existsSync(join(rootfs, 'opt/app-root/src/secret.txt')));
  assert.ok(existsSync(join(rootfs, 'tmp/src/.s2iignore')), 'the ignore file itself stays');
  assert.ok(lstatSync(join(rootfs, 'tmp/scripts')).isDirectory(), 'DEST/scripts exists even when empty');
  const info = read(rootfs, 'opt/app-root/build-info');
  assert.match(info, /^uid=1001\ngid=0\ncwd=\/opt\/app-root\/src\nbuild_count=1\ngreeting=hello-from-env-file\n$/);
  const st = lstatSync(join(rootfs, 'tmp/src/index.txt'));
  assert.deepEqual([st.uid, st.gid], [1001, 0], 'injected sources belong to the assemble user');
  const env = read(rootfs, 'opt/app-root/build-env');
  assert.match(env, /^APP_GREETING=hello-from-env-file$/m);
  assert.match(env, /^QUOTED="kept literally"$/m, 'quotes kept literally');
  assert.doesNotMatch(env, /not-a-pair/);

  const c = config.config;
  assert.equal(c.User, '1001');
  assert.deepEqual(c.Cmd, ['/usr/libexec/s2i/run']);
  assert.equal(c.Entrypoint ?? null, null);
  assert.ok(c.Env.includes('BUILDER_FLAVOR=busybox-test'));
  assert.ok(c.Env.includes('APP_GREETING=hello-from-env-file'));
  assert.equal(c.Labels['io.openshift.s2i.scripts-url'], 'image:///usr/libexec/s2i');
  assert.equal(c.Labels['io.openshift.s2i.build.image'], 'localhost/s2i-test-builder:latest');
  assert.equal(c.Labels['io.openshift.s2i.build.source-location'], src);
  assert.equal(c.Labels['io.k8s.display-name'], 's2i-app');
  assert.equal(c.Labels['io.k8s.description'], 'Minimal busybox S2I builder for the tsbuild test suite');
  assert.equal(c.Labels['io.tsbuild.test.assembled'], 'true', 'label from image_metadata.json');

  const archive = join(work, 'clean.tar');
  ok(['push', '--root', root, 's2i-app', `docker-archive:${archive}:localhost/s2i-clean:latest`]);
  const out = podman.run(podman.load(archive));
  assert.equal(out, 'run: greeting=hello-from-env-file build-count=1 user=1001\nhello from the app source\n');
});

test('incremental rebuild carries artifacts (build-count 2); a plain rebuild starts again at 1', () => {
  const src = app('incr');
  ok(['s2i', 'build', '--root', root, src, 's2i-test-builder', 'incr-app']);
  const r = ok(['s2i', 'build', '--root', root, '--incremental', src, 's2i-test-builder', 'incr-app']);
  assert.match(r.stderr, /restored artifacts, previous build-count=1/);
  let { rootfs } = unpack(root, 'incr-app');
  assert.equal(read(rootfs, 'opt/app-root/state/build-count'), '2\n');
  assert.equal(read(rootfs, 'tmp/artifacts/build-count'), '1\n');
  ok(['s2i', 'build', '--root', root, '--incremental', src, 's2i-test-builder', 'incr-app']);
  assert.equal(read(unpack(root, 'incr-app').rootfs, 'opt/app-root/state/build-count'), '3\n');
  ok(['s2i', 'build', '--root', root, src, 's2i-test-builder', 'incr-app']);
  ({ rootfs } = unpack(root, 'incr-app'));
  assert.equal(read(rootfs, 'opt/app-root/state/build-count'), '1\n');
});

test('incremental without a previous image or with a broken save-artifacts: clean build with a warning', () => {
  const src = app('incr-none');
  const r = ok(['s2i', 'build', '--root', root, '--incremental', src, 's2i-test-builder', 'never-built']);
  assert.match(r.stderr, /Clean build will be performed: previous image .*never-built.* not found/);
  assert.equal(read(unpack(root, 'never-built').rootfs, 'opt/app-root/state/build-count'), '1\n');
  // A save-artifacts that writes junk instead of a tar.
  const scripts = join(work, 'broken-scripts');
  mkdirSync(scripts);
  writeFileSync(join(scripts, 'save-artifacts'), '#!/bin/sh\necho "this is not a tar stream"\n', { mode: 0o755 });
  const b = ok(['s2i', 'build', '--root', root, '--incremental', '--scripts-url', `file://${scripts}`, src, 's2i-test-builder', 'never-built']);
  assert.match(b.stderr, /Clean build will be performed: error saving previous build artifacts/);
  assert.equal(read(unpack(root, 'never-built').rootfs, 'opt/app-root/state/build-count'), '1\n');
});

test('FAIL_ASSEMBLE: the build fails with the script status 42 and no image is tagged', () => {
  const r = cli(['s2i', 'build', '--root', root, join(FIX, 'app-fail'), 's2i-test-builder', 'failed-app']);
  assert.equal(r.status, 42, r.stderr);
  assert.match(r.stderr, /FAIL_ASSEMBLE present/);
  assert.match(r.stderr, /^Error: assemble script failed: non-zero \(42\) exit code from localhost\/s2i-test-builder:latest$/m);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.notEqual(cli(['inspect', '--root', root, 'failed-app']).status, 0);
});

test('--callback-url gets {success, labels} (basic auth from the URL, retried after a 500), also for a failed build; --run starts the image', async () => {
  const posts: { auth?: string; type?: string; body: { success: boolean; labels: Record<string, string> } }[] = [];
  let failures = 1;
  const server = createServer((req, res) => {
    let b = '';
    req.on('data', (d) => (b += d));
    req.on('end', () => {
      posts.push({ auth: req.headers.authorization, type: req.headers['content-type'], body: JSON.parse(b) });
      res.statusCode = failures-- > 0 ? 500 : 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://hook:p%40ss@127.0.0.1:${(server.address() as AddressInfo).port}/built?token=x`;
  try {
    const r = await tsbuildAsync(['s2i', 'build', '--root', root, '--callback-url', url, '--run', app('cb-app'), 's2i-test-builder', 'cb-app'], { cwd: work });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^run: greeting=hello-from-env-file build-count=1 user=1001$/m, 'the run script ran');
    assert.equal(posts.length, 2, 'one retry after the 500');
    assert.equal(posts[1]!.auth, `Basic ${Buffer.from('hook:p@ss').toString('base64')}`);
    assert.equal(posts[1]!.type, 'application/json');
    assert.equal(posts[1]!.body.success, true);
    assert.equal(posts[1]!.body.labels['io.k8s.display-name'], 'cb-app');
    assert.equal(posts[1]!.body.labels['io.openshift.s2i.build.image'], 'localhost/s2i-test-builder:latest');

    failures = 5; // every attempt fails: a warning without the credentials, the build's own status stands
    const bad = await tsbuildAsync(['s2i', 'build', '--root', root, '--callback-url', url, join(FIX, 'app-fail'), 's2i-test-builder', 'cb-fail'], { cwd: work });
    assert.equal(bad.status, 42, bad.stderr);
    assert.deepEqual(posts.slice(2).map((p) => p.body), [1, 2, 3].map(() => ({ success: false, labels: {} })));
    assert.match(bad.stderr, /callback to http:\/\/127\.0\.0\.1:\d+\/built failed after 3 attempts: HTTP 500/);
    assert.doesNotMatch(bad.stderr + bad.stdout, /p%40ss|p@ss|token=x/);
  } finally {
    server.close();
  }
  const refused = cli(['s2i', 'build', '--root', root, '--run', '--as-dockerfile', join(work, 'cb-df/Containerfile'), app('cb-df-app'), 's2i-test-builder']);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /^Error: --run cannot be used with --as-dockerfile/m);
  assert.equal(cli(['s2i', 'build', '--root', root, '--callback-url', 'ftp://x/y', app('cb-ftp'), 's2i-test-builder']).status, 2);
});

test('.s2i/bin/run overrides just that script: CMD is DEST/scripts/run, assemble stays the image one', () => {
  const r = ok(['s2i', 'build', '--root', root, join(FIX, 'app-override'), 's2i-test-builder', 'override-app']);
  assert.match(r.stderr, /assemble: \/usr\/libexec\/s2i\/assemble/);
  assert.match(r.stderr, /run: \/tmp\/scripts\/run \(from source \.s2i\/bin\/run\)/);
  const { rootfs, config } = unpack(root, 'override-app');
  assert.deepEqual(config.config.Cmd, ['/tmp/scripts/run']);
  assert.ok(existsSync(join(rootfs, 'tmp/scripts/run')));
  assert.ok(!existsSync(join(rootfs, 'tmp/src/.s2i/bin/run')), 'moved out of the sources, as S2I does');
  const archive = join(work, 'override.tar');
  ok(['push', '--root', root, 'override-app', `docker-archive:${archive}:localhost/s2i-override:latest`]);
  assert.equal(podman.run(podman.load(archive)), 'custom run\n');
});

test('environment precedence: -E over -e over .s2i/environment over the builder ENV', () => {
  const src = app('envs');
  const envFile = join(work, 'extra.env');
  writeFileSync(envFile, '# comment\n// also a comment\nFROM_E=file-first\nFROM_E=file-last\nBOTH=from-E\n');
  ok(['s2i', 'build', '--root', root, src, 's2i-test-builder', 'env-app',
    '-e', 'APP_GREETING=from-flag', '-e', 'BOTH=from-e', '-e', 'BUILDER_FLAVOR=overridden', '-e', 'LIST=a=1,b=2', '-E', envFile]);
  const { rootfs, config } = unpack(root, 'env-app');
  const env = read(rootfs, 'opt/app-root/build-env');
  assert.match(env, /^APP_GREETING=from-flag$/m, '-e beats .s2i/environment');
  assert.match(env, /^BOTH=from-E$/m, '-E beats -e');
  assert.match(env, /^FROM_E=file-last$/m);
  assert.match(env, /^BUILDER_FLAVOR=overridden$/m, 'S2I env beats the builder ENV');
  assert.match(env, /^LIST=a=1,b=2$/m, 'commas do not split values');
  assert.match(env, /^QUOTED="kept literally"$/m);
  const cfgEnv: string[] = config.config.Env;
  assert.ok(cfgEnv.includes('APP_GREETING=from-flag') && cfgEnv.includes('BOTH=from-E') && cfgEnv.includes('BUILDER_FLAVOR=overridden'), 'persisted in the image');
  assert.equal(cfgEnv.filter((e) => e.startsWith('BUILDER_FLAVOR=')).length, 1);
});

test('git source at a ref: clone + checkout, commit labels; #ref in a file:// URL, --ref wins', () => {
  const repo = join(work, 'gitrepo');
  cpSync(join(FIX, 'app'), repo, { recursive: true });
  const git = (...a: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.name=S2I Tester', '-c', 'user.email=s2i@example.com', ...a], { encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'first version');
  git('tag', 'v1');
  const v1 = git('rev-parse', 'HEAD');
  writeFileSync(join(repo, 'index.txt'), 'second version\n');
  git('commit', '-q', '-am', 'second version');
  const v2 = git('rev-parse', 'HEAD');
  writeFileSync(join(repo, 'uncommitted.txt'), 'work in progress\n');

  ok(['s2i', 'build', '--root', root, '--ref', 'v1', repo, 's2i-test-builder', 'git-app']);
  let { rootfs, config } = unpack(root, 'git-app');
  assert.equal(read(rootfs, 'tmp/src/index.txt'), 'hello from the app source\n');
  assert.ok(!existsSync(join(rootfs, 'tmp/src/uncommitted.txt')), 'a clone has only committed files');
  assert.ok(!existsSync(join(rootfs, 'tmp/src/.git')), '.git excluded by default');
  const l = config.config.Labels;
  assert.equal(l['io.openshift.s2i.build.commit.id'], v1);
  assert.equal(l['io.openshift.s2i.build.commit.ref'], 'HEAD', 'detached at a tag');
  assert.equal(l['io.openshift.s2i.build.commit.author'], 'S2I Tester <s2i@example.com>');
  assert.equal(l['io.openshift.s2i.build.commit.message'], 'first version');
  assert.match(l['io.openshift.s2i.build.commit.date'], /^\w{3} \w{3} \d+ \d\d:\d\d:\d\d \d{4} [+-]\d{4}$/);

  // #v1 in the URL is honoured...
  ok(['s2i', 'build', '--root', root, `file://${repo}#v1`, 's2i-test-builder', 'git-url']);
  ({ rootfs, config } = unpack(root, 'git-url'));
  assert.equal(config.config.Labels['io.openshift.s2i.build.commit.id'], v1);
  // ...but --ref wins over it.
  ok(['s2i', 'build', '--root', root, '--ref', 'main', `file://${repo}#v1`, 's2i-test-builder', 'git-url']);
  ({ rootfs, config } = unpack(root, 'git-url'));
  assert.equal(read(rootfs, 'tmp/src/index.txt'), 'second version\n');
  assert.equal(config.config.Labels['io.openshift.s2i.build.commit.id'], v2);
  assert.equal(config.config.Labels['io.openshift.s2i.build.commit.ref'], 'main');

  // A working tree without a ref is built as it is: uncommitted changes included.
  ok(['s2i', 'build', '--root', root, repo, 's2i-test-builder', 'git-wt']);
  ({ rootfs, config } = unpack(root, 'git-wt'));
  assert.equal(read(rootfs, 'tmp/src/uncommitted.txt'), 'work in progress\n');
  assert.equal(config.config.Labels['io.openshift.s2i.build.commit.id'], v2);

  // A bad ref fails (exit 1); an empty repository asked for a ref is exit 16.
  const bad = cli(['s2i', 'build', '--root', root, '--ref', 'no-such-ref', repo, 's2i-test-builder', 'git-bad']);
  assert.equal(bad.status, 1, bad.stderr);
  assert.match(bad.stderr, /git checkout of ref "no-such-ref" failed/);
  const empty = join(work, 'empty-repo');
  mkdirSync(empty);
  execFileSync('git', ['-C', empty, 'init', '-q']);
  const e = cli(['s2i', 'build', '--root', root, '--ref', 'main', empty, 's2i-test-builder', 'git-empty']);
  assert.equal(e.status, 16, e.stderr);
});

test('--context-dir, missing scripts (11), --allowed-uids (15), unknown builder with --pull-policy never (1)', () => {
  const src = app('ctx');
  ok(['s2i', 'build', '--root', root, '--context-dir', 'sub', src, 's2i-test-builder', 'ctx-app']);
  const { rootfs, config } = unpack(root, 'ctx-app');
  assert.equal(read(rootfs, 'tmp/src/index.txt'), 'sub\n');
  assert.equal(config.config.Labels['io.openshift.s2i.build.source-context-dir'], 'sub');

  const noScripts = join(work, 'noscripts-builder');
  mkdirSync(noScripts);
  writeFileSync(join(noScripts, 'Containerfile'), 'FROM busybox\nUSER 1001\n');
  ok(['build', '--root', root, '-t', 'bare-builder', noScripts]);
  const m = cli(['s2i', 'build', '--root', root, src, 'bare-builder', 'x']);
  assert.equal(m.status, 11, m.stderr);
  assert.match(m.stderr, /failed to install \[assemble run\]/);

  const rootBuilder = join(work, 'root-builder');
  mkdirSync(rootBuilder);
  writeFileSync(join(rootBuilder, 'Containerfile'), 'FROM s2i-test-builder\nUSER 0\n');
  ok(['build', '--root', root, '-t', 'root-builder', rootBuilder]);
  const u = cli(['s2i', 'build', '--root', root, '--allowed-uids', '1-', src, 'root-builder', 'x']);
  assert.equal(u.status, 15, u.stderr);
  assert.match(u.stderr, /must specify a user that is numeric and within the range of allowed users/);
  ok(['s2i', 'build', '--root', root, '--allowed-uids', '1-', src, 's2i-test-builder', 'allowed']);
  const bad = cli(['s2i', 'build', '--root', root, '--allowed-uids', 'x-y', src, 's2i-test-builder', 'x']);
  assert.equal(bad.status, 2);

  const never = cli(['s2i', 'build', '--root', root, '--pull-policy', 'never', src, 'no-such-builder', 'x']);
  assert.equal(never.status, 1, never.stderr);
  assert.match(never.stderr, /unable to get metadata for no-such-builder/);
});

test('ENTRYPOINT of the builder is kept in the output and does not disturb assemble', () => {
  const dir = join(work, 'ep-builder');
  mkdirSync(dir);
  writeFileSync(join(dir, 'Containerfile'), 'FROM s2i-test-builder\nENTRYPOINT ["/bin/false"]\n');
  ok(['build', '--root', root, '-t', 'ep-builder', dir]);
  ok(['s2i', 'build', '--root', root, app('ep'), 'ep-builder', 'ep-app']);
  const { config } = unpack(root, 'ep-app');
  assert.deepEqual(config.config.Entrypoint, ['/bin/false']);
  assert.deepEqual(config.config.Cmd, ['/usr/libexec/s2i/run']);
});

test('s2i usage prints the usage script output', () => {
  const r = ok(['s2i', 'usage', '--root', root, 's2i-test-builder']);
  assert.match(r.stdout, /^tsbuild S2I test builder \(busybox\)\nSources are injected at \/tmp\/src/);
});

test('--as-dockerfile: Containerfile + upload/ that buildah builds to the same file tree', () => {
  const src = app('asdf');
  const out = join(work, 'asdf-out');
  const r = ok(['s2i', 'build', '--root', root, '--as-dockerfile', join(out, 'Containerfile'), src, 's2i-test-builder', 'asdf-app']);
  assert.match(r.stdout, /Application dockerfile generated in .*asdf-out\/Containerfile/);
  const text = readFileSync(join(out, 'Containerfile'), 'utf8');
  assert.match(text, /^FROM localhost\/s2i-test-builder:latest$/m);
  assert.match(text, /^CMD \["\/usr\/libexec\/s2i\/run"\]$/m, 'exec form');
  assert.match(text, /^RUN \/usr\/libexec\/s2i\/assemble$/m);
  assert.ok(existsSync(join(out, 'upload/src/index.txt')));
  assert.ok(!existsSync(join(out, 'upload/src/secret.txt')));
  // The same inputs built by tsbuild s2i (daemon-mode equivalent) for comparison.
  ok(['s2i', 'build', '--root', root, src, 's2i-test-builder', 'asdf-app']);

  const buildah = new Buildah();
  try {
    const archive = join(work, 'builder.tar');
    ok(['push', '--root', root, 's2i-test-builder', `docker-archive:${archive}:localhost/s2i-test-builder:latest`]);
    buildah.pull(`docker-archive:${archive}`, 'localhost/s2i-test-builder:latest');
    buildah.build(out, 'localhost/asdf-buildah:latest');
    const layout = join(work, 'asdf-buildah-oci');
    buildah.push('localhost/asdf-buildah:latest', `oci:${layout}:img`);
    const bundle = join(work, 'asdf-buildah-bundle');
    execFileSync('umoci', ['unpack', '--image', `${layout}:img`, bundle], { stdio: 'pipe' });
    const theirs = snapshotTree(join(bundle, 'rootfs'));
    const ours = snapshotTree(unpack(root, 'asdf-app').rootfs);
    // build-env holds HOSTNAME and the like, which differ between any two engines; buildah's RUN
    // leaves its mount points (/proc, /etc/hosts, ...) in the layer where tsbuild leaves none.
    for (const t of [theirs, ours]) t.delete('opt/app-root/build-env');
    for (const p of [...theirs.keys()]) if (/^(proc|sys|dev|run|etc\/hosts|etc\/resolv\.conf|etc\/hostname)(\/|$)/.test(p) && !ours.has(p)) theirs.delete(p);
    assert.deepEqual(diffTrees(ours, theirs), []);
    const cfg = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${layout}:img`], { encoding: 'utf8' })).config;
    assert.deepEqual(cfg.Cmd, ['/usr/libexec/s2i/run']);
    assert.equal(cfg.User, '1001');
    assert.equal(cfg.Labels['io.openshift.s2i.build.image'], 'localhost/s2i-test-builder:latest');
    assert.ok(cfg.Env.includes('APP_GREETING=hello-from-env-file'));
    assert.ok(cfg.Env.includes('QUOTED="kept literally"'));
  } finally {
    buildah.cleanup();
  }
  // tsbuild builds the generated Containerfile too.
  ok(['build', '--root', root, '-t', 'asdf-tsbuild', out]);
  assert.equal(read(unpack(root, 'asdf-tsbuild').rootfs, 'opt/app-root/state/build-count'), '1\n');
});

test('--inject: files bind-mounted into assemble, readable and writable there, in no layer; --as-dockerfile mounts them too', () => {
  const secret = `inject-secret-${process.pid}-${Date.now()}`;
  const secrets = join(work, 'inject-secrets');
  mkdirSync(join(secrets, 'sub'), { recursive: true });
  writeFileSync(join(secrets, 'token'), secret, { mode: 0o600 });
  writeFileSync(join(secrets, 'sub', 'cfg'), 'cfg-value\n');
  const single = join(work, 'inject-single.txt');
  writeFileSync(single, 'single\n', { mode: 0o600 });
  const src = app('inject');
  mkdirSync(join(src, '.s2i', 'bin'), { recursive: true });
  // Runs as 1001: reads what root's 0600 files became, overwrites one, then the builder's assemble.
  writeFileSync(join(src, '.s2i', 'bin', 'assemble'), [
    '#!/bin/sh',
    'set -e',
    'wc -c < /opt/app-root/secrets/token > /opt/app-root/token-length',
    'cat /opt/app-root/secrets/sub/cfg /opt/app-root/src/extra/inject-single.txt > /opt/app-root/injected-copy',
    'echo overwritten > /opt/app-root/secrets/token',
    'exec /usr/libexec/s2i/assemble',
    '',
  ].join('\n'), { mode: 0o755 });
  const injects = ['-i', `${secrets}:/opt/app-root/secrets`, '-i', `${single}:extra`];
  const r = ok(['s2i', 'build', '--root', root, ...injects, src, 's2i-test-builder', 'inject-app']);
  assert.match(r.stderr, /Injecting 3 file\(s\) into assemble: \/opt\/app-root\/secrets\/sub\/cfg \/opt\/app-root\/secrets\/token \/opt\/app-root\/src\/extra\/inject-single.txt/);
  const layout = join(work, 'inject-oci');
  ok(['push', '--root', root, 'inject-app', `oci:${layout}:img`]);
  const { rootfs } = unpack(root, 'inject-app');
  assert.equal(read(rootfs, 'opt/app-root/token-length').trim(), String(secret.length));
  assert.equal(read(rootfs, 'opt/app-root/injected-copy'), 'cfg-value\nsingle\n');
  assert.equal(read(rootfs, 'opt/app-root/state/build-count'), '1\n', "the builder's assemble ran after");
  assert.ok(!existsSync(join(rootfs, 'opt/app-root/secrets')), 'no injected file, no directory made for one');
  assert.ok(!existsSync(join(rootfs, 'opt/app-root/src/extra')));
  assert.equal(readFileSync(join(secrets, 'token'), 'utf8'), secret, "assemble's write reached neither the host file nor the image");
  for (const name of readdirSync(join(layout, 'blobs', 'sha256'))) {
    const blob = readFileSync(join(layout, 'blobs', 'sha256', name));
    const text = blob[0] === 0x1f && blob[1] === 0x8b ? gunzipSync(blob) : blob;
    assert.ok(!text.includes(secret), `blob ${name} holds the injected secret`);
  }

  const out = join(work, 'inject-out');
  ok(['s2i', 'build', '--root', root, ...injects, '--as-dockerfile', join(out, 'Containerfile'), src, 's2i-test-builder', 'inject-df']);
  const text = readFileSync(join(out, 'Containerfile'), 'utf8');
  assert.match(text, /^RUN --mount=type=bind,source=upload\/injections\/0,target=\/opt\/app-root\/secrets\/sub\/cfg,rw --mount=type=bind,source=upload\/injections\/1,target=\/opt\/app-root\/secrets\/token,rw --mount=type=bind,source=upload\/injections\/2,target=\/opt\/app-root\/src\/extra\/inject-single.txt,rw \/tmp\/scripts\/assemble$/m);
  assert.equal(readFileSync(join(out, 'upload/injections/1'), 'utf8'), secret);
  ok(['build', '--root', root, '-t', 'inject-df', out]);
  assert.equal(read(unpack(root, 'inject-df').rootfs, 'opt/app-root/token-length').trim(), String(secret.length));
  const bad = cli(['s2i', 'build', '--root', root, '-i', join(work, 'no-such-dir') + ':/x', src, 's2i-test-builder', 'inject-bad']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--inject .*no-such-dir: no such file or directory/);
});

describe('runtime images (--runtime-image, extended builds)', () => {
  // A runtime image with its own scripts (fixtures/s2i/test-runtime) and the sample app whose
  // assemble leaves a "compiled" tree in /opt/app-root/build (fixtures/s2i/app-runtime).
  before(() => {
    ok(['build', '--root', root, '-t', 's2i-test-runtime', join(FIX, 'test-runtime')]);
  });

  test('artifacts of the assembled builder land in the runtime WORKDIR with S2I modes; assemble-runtime, labels, CMD, USER; tsbuild run', () => {
    const src = app('rt', 'app-runtime');
    const r = ok(['s2i', 'build', '--root', root, src, 's2i-test-builder', 'rt-app',
      '--runtime-image', 's2i-test-runtime', '-a', '/opt/app-root/build:app', '--runtime-artifact', '/opt/app-root/state/build-count']);
    assert.match(r.stderr, /assemble: uid=1001 gid=0/, 'assemble ran in the builder');
    assert.match(r.stderr, /\[test-runtime\] assemble-runtime: uid=1001 gid=0 cwd=\/opt\/app-root$/m, "assemble-runtime ran as the runtime image's USER in its WORKDIR");
    const { rootfs, config } = unpack(root, 'rt-app');

    // SRC's own name below DST, below the WORKDIR; owner-executable and directories 0755, the rest
    // 0644 (assemble made them 0700 and 0600), owned by root as S2I's upload leaves them.
    assert.equal(meta(rootfs, 'opt/app-root/app'), 'dir 0755 0:0');
    assert.equal(meta(rootfs, 'opt/app-root/app/build'), 'dir 0755 0:0');
    assert.equal(meta(rootfs, 'opt/app-root/app/build/hello'), 'file 0755 0:0');
    assert.equal(meta(rootfs, 'opt/app-root/app/build/conf'), 'dir 0755 0:0');
    assert.equal(meta(rootfs, 'opt/app-root/app/build/conf/app.conf'), 'file 0644 0:0');
    assert.equal(meta(rootfs, 'opt/app-root/app/build/hello-link'), 'link->hello 0777 0:0');
    assert.equal(read(rootfs, 'opt/app-root/app/build/conf/app.conf'), 'key=value\n');
    assert.equal(meta(rootfs, 'opt/app-root/build-count'), 'file 0644 0:0', 'no DST: the WORKDIR itself');
    assert.equal(read(rootfs, 'opt/app-root/build-count'), '1\n');
    assert.equal(meta(rootfs, 'opt/app-root'), 'dir 0775 1001:0', 'the WORKDIR keeps its own owner and mode');

    // assemble-runtime's effect, with the same environment as assemble.
    assert.match(read(rootfs, 'opt/app-root/runtime-info'), /^uid=1001\ngid=0\ncwd=\/opt\/app-root\ngreeting=hello-from-env-file\napp\nbuild-count\n/);
    // Nothing of the builder but the artifacts.
    for (const p of ['tmp/src', 'tmp/scripts', 'opt/app-root/src', 'opt/app-root/state', 'opt/app-root/build', 'usr/libexec/s2i/assemble', 'usr/libexec/s2i/save-artifacts']) {
      assert.ok(!existsSync(join(rootfs, p)), `${p} is builder-only`);
    }
    assert.deepEqual(readdirSync(join(rootfs, 'usr/libexec/s2i')).sort(), ['assemble-runtime', 'run']);

    const c = config.config;
    assert.deepEqual(c.Cmd, ['/usr/libexec/s2i/run'], 'the run script as resolved for the builder');
    assert.equal(c.User, '1001', "the runtime image's USER");
    assert.equal(c.Entrypoint ?? null, null);
    assert.equal(c.WorkingDir, '/opt/app-root');
    assert.ok(c.Env.includes('APP_GREETING=hello-from-env-file'), 'the S2I environment is kept');
    assert.ok(c.Env.includes('RUNTIME_FLAVOR=busybox-runtime'));
    assert.ok(!c.Env.some((e: string) => e.startsWith('BUILDER_FLAVOR=')), "the builder's ENV is not");
    const l = c.Labels;
    assert.equal(l['io.tsbuild.test.runtime'], 'true', "the runtime image's labels");
    assert.equal(l['io.k8s.description'], 'Minimal busybox S2I runtime image for the tsbuild test suite');
    assert.equal(l['io.k8s.display-name'], 'rt-app');
    assert.equal(l['io.openshift.s2i.build.image'], 'localhost/s2i-test-builder:latest');
    assert.equal(l['io.openshift.s2i.build.source-location'], src);
    assert.equal(l['io.tsbuild.test.runtime-assembled'], 'true', 'image_metadata.json of the runtime image');
    assert.equal(l['io.tsbuild.test.assembled'], undefined, "the builder's image_metadata.json is not read (S2I commits the runtime container)");

    assert.equal(ok(['run', '--rm', '--root', root, 'rt-app']).stdout, 'runtime run: greeting=hello-from-env-file user=1001 flavor=busybox-runtime\nhello from the artifact: uid=1001\n');
    assert.equal(ok(['run', '--rm', '--root', root, 'rt-app', '/opt/app-root/app/build/hello-link']).stdout, 'hello from the artifact: uid=1001\n');
  });

  test('the assemble-input-files label, assemble-runtime user label and flag, .s2i/bin run and assemble-runtime, runtime ENTRYPOINT', () => {
    const dir = join(work, 'rt-labelled');
    mkdirSync(dir);
    writeFileSync(join(dir, 'Containerfile'), [
      'FROM s2i-test-runtime',
      'LABEL io.openshift.s2i.assemble-input-files="/opt/app-root/build/hello:bin;/opt/app-root/build/conf" \\',
      '      io.openshift.s2i.assemble-runtime-user="0"',
      'ENTRYPOINT ["/bin/env"]',
      '',
    ].join('\n'));
    ok(['build', '--root', root, '-t', 'rt-labelled', dir]);
    const src = app('rt-labelled-app', 'app-runtime');
    ok(['s2i', 'build', '--root', root, src, 's2i-test-builder', 'rt-labelled-app', '--runtime-image', 'rt-labelled']);
    let { rootfs, config } = unpack(root, 'rt-labelled-app');
    assert.equal(meta(rootfs, 'opt/app-root/bin/hello'), 'file 0755 0:0');
    assert.equal(meta(rootfs, 'opt/app-root/conf/app.conf'), 'file 0644 0:0');
    assert.match(read(rootfs, 'opt/app-root/runtime-info'), /^uid=0\n/, 'the assemble-runtime-user label');
    assert.deepEqual(config.config.Entrypoint, ['/bin/env'], "the runtime image's ENTRYPOINT is kept");
    assert.equal(config.config.User, '1001');

    // Scripts from the source: run and assemble-runtime go to WORKDIR/scripts; the flag beats the label.
    mkdirSync(join(src, '.s2i', 'bin'), { recursive: true });
    writeFileSync(join(src, '.s2i', 'bin', 'run'), '#!/bin/sh\necho "custom run: $(id -u)"\n', { mode: 0o700 });
    writeFileSync(join(src, '.s2i', 'bin', 'assemble-runtime'), '#!/bin/sh\nset -e\nid -u > /opt/app-root/custom-runtime-info\n/usr/libexec/s2i/assemble-runtime\n', { mode: 0o700 });
    const r = ok(['s2i', 'build', '--root', root, src, 's2i-test-builder', 'rt-labelled-app', '--runtime-image', 'rt-labelled', '--assemble-runtime-user', '1001']);
    assert.match(r.stderr, /assemble-runtime: \/opt\/app-root\/scripts\/assemble-runtime in localhost\/rt-labelled:latest \(from source \.s2i\/bin\/assemble-runtime\)/);
    ({ rootfs, config } = unpack(root, 'rt-labelled-app'));
    assert.equal(read(rootfs, 'opt/app-root/custom-runtime-info'), '1001\n', '--assemble-runtime-user wins over the label');
    assert.equal(meta(rootfs, 'opt/app-root/scripts/run'), 'file 0755 0:0');
    assert.equal(meta(rootfs, 'opt/app-root/scripts/assemble-runtime'), 'file 0755 0:0');
    assert.deepEqual(config.config.Cmd, ['/opt/app-root/scripts/run']);
    assert.equal(ok(['run', '--rm', '--root', root, 'rt-labelled-app']).stdout, 'custom run: 1001\n');
  });

  test('refusals: one line, no stack trace, exit 2 for usage errors', () => {
    const src = app('rt-errors', 'app-runtime');
    const fails = (args: string[], status: number, message: RegExp) => {
      const r = cli(['s2i', 'build', '--root', root, src, 's2i-test-builder', 'rt-refused', ...args]);
      assert.equal(r.status, status, `${args.join(' ')}:\n${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    };
    const rt = ['--runtime-image', 's2i-test-runtime'];
    fails([...rt, '-a', 'opt/app-root/build'], 2, /^Error: --runtime-artifact "opt\/app-root\/build": source must be an absolute path$/m);
    fails([...rt, '-a', '/opt/app-root/build:../up'], 2, /destination cannot start with '\.\.'/);
    fails([...rt, '-a', '/opt/app-root/build:/abs'], 2, /destination must be a relative path/);
    fails([...rt, '-a', '/opt/app-root/build/*.conf'], 2, /wildcards are not supported/);
    fails([...rt, '--incremental', '-a', '/opt/app-root/build'], 2, /^Error: --incremental cannot be used with --runtime-image/m);
    fails([...rt, '--as-dockerfile', join(work, 'rt-df', 'Containerfile'), '-a', '/opt/app-root/build'], 2, /^Error: --as-dockerfile cannot be used with --runtime-image$/m);
    assert.ok(!existsSync(join(work, 'rt-df')), 'refused before anything is written');
    fails(rt, 2, /^Error: no runtime artifacts to copy were specified$/m);
    fails([...rt, '-a', '/opt/app-root/no-such'], 1, /^Error: runtime artifact \/opt\/app-root\/no-such: no such file or directory in the assembled image \(localhost\/s2i-test-builder:latest\)$/m);
    fails(['--runtime-image', 'busybox', '-a', '/opt/app-root/build'], 11, /^Error: failed to install \[assemble-runtime\]$/m);
    fails(['--runtime-image', 'no-such-runtime', '--runtime-pull-policy', 'never', '-a', '/opt/app-root/build'], 1, /^Error: unable to get metadata for no-such-runtime/m);
    fails([...rt, '-a', '/opt/app-root/build', '-e', 'FAIL_ASSEMBLE_RUNTIME=7'], 7, /^Error: assemble-runtime script failed: non-zero \(7\) exit code from localhost\/s2i-test-runtime:latest$/m);
    assert.notEqual(cli(['inspect', '--root', root, 'rt-refused']).status, 0, 'no image was tagged');
  });
});

describe('as an unprivileged user (rootless)', () => {
  test('builder, clean build, incremental rebuild, failure status, extended build', () => {
    const home = join(work, 'user-home');
    mkdirSync(home);
    chownTree(home, user.uid, user.gid);
    const uroot = join(home, 'store');
    const archive = join(home, 'busybox-user.tar');
    copyFileSync(busybox.dockerArchive, archive);
    chownTree(archive, user.uid, user.gid);
    const ctx = join(home, 'user-builder');
    cpSync(join(FIX, 'test-builder'), ctx, { recursive: true });
    chownTree(ctx, user.uid, user.gid);
    const src = app('user-app');
    const opts = { rootless: true };
    ok(['pull', '--root', uroot, `docker-archive:${archive}`], opts);
    ok(['build', '--root', uroot, '-t', 's2i-test-builder', ctx], opts);
    const r = ok(['s2i', 'build', '--root', uroot, src, 's2i-test-builder', 'user-s2i'], opts);
    assert.match(r.stderr, /assemble: uid=1001 gid=0/);
    ok(['s2i', 'build', '--root', uroot, '--incremental', src, 's2i-test-builder', 'user-s2i'], opts);
    const { rootfs, config } = unpack(uroot, 'user-s2i', true);
    assert.equal(read(rootfs, 'opt/app-root/state/build-count'), '2\n');
    assert.match(read(rootfs, 'opt/app-root/build-info'), /^uid=1001\ngid=0\n/);
    assert.equal(config.config.User, '1001');
    assert.equal(config.config.Labels['io.tsbuild.test.assembled'], 'true');
    const fail = app('user-fail', 'app-fail');
    const f = cli(['s2i', 'build', '--root', uroot, fail, 's2i-test-builder', 'user-fail'], opts);
    assert.equal(f.status, 42, f.stderr);

    // An extended build: the artifacts are staged by the user and owned by root in the image.
    const rtCtx = join(home, 'user-runtime');
    cpSync(join(FIX, 'test-runtime'), rtCtx, { recursive: true });
    chownTree(rtCtx, user.uid, user.gid);
    ok(['build', '--root', uroot, '-t', 's2i-test-runtime', rtCtx], opts);
    const rtSrc = app('user-rt-app', 'app-runtime');
    const rt = ok(['s2i', 'build', '--root', uroot, rtSrc, 's2i-test-builder', 'user-rt', '--runtime-image', 's2i-test-runtime', '-a', '/opt/app-root/build:app'], opts);
    assert.match(rt.stderr, /assemble-runtime: uid=1001 gid=0/);
    const u = unpack(uroot, 'user-rt', true);
    assert.equal(meta(u.rootfs, 'opt/app-root/app/build/hello'), 'file 0755 0:0');
    assert.equal(meta(u.rootfs, 'opt/app-root/app/build/conf'), 'dir 0755 0:0');
    assert.equal(meta(u.rootfs, 'opt/app-root/app/build/conf/app.conf'), 'file 0644 0:0');
    assert.equal(meta(u.rootfs, 'opt/app-root/runtime-info'), 'file 0644 1001:0');
    assert.equal(u.config.config.User, '1001');
    assert.equal(ok(['run', '--rm', '--root', uroot, 'user-rt'], opts).stdout, 'runtime run: greeting=hello-from-env-file user=1001 flavor=busybox-runtime\nhello from the artifact: uid=1001\n');
  });
});
