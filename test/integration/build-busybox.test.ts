// Builds on a busybox base made with umoci from busybox-static and imported with `pull oci:` and
// `pull docker-archive:`, then runs the result with podman.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { TempDir, tsbuild, tsbuildAsync, tsbuildOk, lastLine } from '../helpers/cli.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';
import { Podman } from '../helpers/podman.js';

let tmp: TempDir;
let root: string;
let busybox: BusyboxImage;
let podman: Podman;

before(() => {
  tmp = new TempDir();
  root = tmp.dir('store');
  busybox = makeBusyboxImage();
  podman = new Podman();
  tsbuildOk(['pull', '--root', root, `docker-archive:${busybox.dockerArchive}`]);
});
after(() => {
  podman?.cleanup();
  busybox?.cleanup();
  tmp?.cleanup();
});

/** Export an image with `push docker-archive:` and run it with podman. */
function runWithPodman(image: string, cmd: string[] = []): string {
  const archive = join(tmp.path, `${image.replace(/[^a-z0-9]/g, '_')}-${Date.now()}.tar`);
  tsbuildOk(['push', '--root', root, image, `docker-archive:${archive}:localhost/${image}:latest`]);
  const name = podman.load(archive);
  return podman.run(name, cmd);
}

test('pull oci: and docker-archive: give the same image, named from the archive', () => {
  const fresh = tmp.dir('fresh-store');
  const fromOci = lastLine(tsbuildOk(['pull', '--root', fresh, busybox.ociRef]).stdout);
  const fromArchive = lastLine(tsbuildOk(['pull', '--root', fresh, `docker-archive:${busybox.dockerArchive}`]).stdout);
  assert.match(fromOci, /^[a-f0-9]{64}$/);
  // Same config either way: the image ID is the config digest.
  assert.equal(fromArchive, fromOci);
  const images = tsbuildOk(['images', '--root', fresh, '--format', '{{.Repository}}:{{.Tag}}']).stdout;
  assert.match(images, /^docker\.io\/library\/busybox:latest$/m);
});

test('a busybox-based image runs under podman with the config we wrote', () => {
  const ctx = tmp.dir('app');
  tmp.file('app/Containerfile', [
    'FROM busybox',
    'ARG GREETING=hello',
    'ENV GREETING=$GREETING',
    'WORKDIR /app',
    'COPY --chown=app:app msg.txt ./',
    'USER app',
    'CMD ["sh", "-c", "cat /app/msg.txt; echo \\"$GREETING from $(id -un):$(id -gn) in $(pwd)\\"; ls -ln /app/msg.txt | awk \'{print $3\\":\\"$4}\'"]',
    '',
  ].join('\n'));
  tmp.file('app/msg.txt', 'message from the context\n');
  tsbuildOk(['build', '--root', root, '--build-arg', 'GREETING=bonjour', '-t', 'app', ctx]);
  const out = runWithPodman('app');
  assert.equal(out, 'message from the context\nbonjour from app:app in /app\n1000:1000\n');
});

test('ONBUILD triggers run in the child build, right after FROM', () => {
  const base = tmp.dir('onbase');
  tmp.file('onbase/Containerfile', 'FROM busybox\nONBUILD COPY trigger.txt /from-onbuild.txt\nONBUILD ENV TRIGGERED=yes\n');
  tsbuildOk(['build', '--root', root, '-t', 'onbuild-base', base]);
  const child = tmp.dir('onchild');
  tmp.file('onchild/Containerfile', 'FROM onbuild-base\nCMD ["sh", "-c", "cat /from-onbuild.txt; echo $TRIGGERED"]\n');
  tmp.file('onchild/trigger.txt', 'copied by a trigger\n');
  tsbuildOk(['build', '--root', root, '-t', 'onbuild-child', child]);
  assert.equal(runWithPodman('onbuild-child'), 'copied by a trigger\nyes\n');
  const cfg = JSON.parse(tsbuildOk(['inspect', '--root', root, 'onbuild-child']).stdout);
  assert.equal(cfg.Config.OnBuild ?? null, null, 'triggers are not inherited by the child image');
});

test('an ONBUILD ARG consumes its build arg (no "not consumed" warning)', () => {
  const base = tmp.dir('onarg-base');
  tmp.file('onarg-base/Containerfile', 'FROM busybox\nONBUILD ARG C=childdefault\nONBUILD RUN echo "C=$C" > /onb\n');
  tsbuildOk(['build', '--root', root, '-t', 'onarg-base', base]);
  const child = tmp.dir('onarg-child');
  tmp.file('onarg-child/Containerfile', 'FROM onarg-base\nRUN cat /onb\n');
  const r = tsbuildOk(['build', '--root', root, '--progress=plain', '--build-arg', 'C=cli', child]);
  assert.match(r.stderr + r.stdout, /^C=cli$/m);
  assert.doesNotMatch(r.stderr, /not consumed/);
});

test('SOURCE_DATE_EPOCH as a build arg (BuildKit) sets the times, and an ARG of it sees the environment\'s', () => {
  const ctx = tmp.dir('sde-arg');
  tmp.file('sde-arg/Containerfile', 'FROM busybox\nARG SOURCE_DATE_EPOCH\nRUN echo "sde=$SOURCE_DATE_EPOCH"\n');
  const viaArg = tsbuildOk(['build', '--root', root, '--progress=plain', '--build-arg', 'SOURCE_DATE_EPOCH=1000000000', '-t', 'sde-arg', ctx]);
  assert.match(viaArg.stderr + viaArg.stdout, /^sde=1000000000$/m);
  assert.doesNotMatch(viaArg.stderr, /not consumed/);
  assert.equal(JSON.parse(tsbuildOk(['inspect', '--root', root, 'sde-arg']).stdout).Created, '2001-09-09T01:46:40.000Z');
  const viaEnv = tsbuildOk(['build', '--root', root, '--progress=plain', '-t', 'sde-env', ctx], { env: { SOURCE_DATE_EPOCH: '1100000000' } });
  assert.match(viaEnv.stderr + viaEnv.stdout, /^sde=1100000000$/m);
  assert.equal(JSON.parse(tsbuildOk(['inspect', '--root', root, 'sde-env']).stdout).Created, '2004-11-09T11:33:20.000Z');
  const bad = tsbuild(['build', '--root', root, '--build-arg', 'SOURCE_DATE_EPOCH=yesterday', ctx]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^Error: invalid build arg SOURCE_DATE_EPOCH="yesterday"/m);
});

test('--target builds only the stages it needs; unused build args draw a warning', () => {
  const ctx = tmp.dir('target');
  tmp.file('target/Containerfile', [
    'ARG BASE=busybox',
    'FROM $BASE AS deps',
    'COPY dep.txt /deps/',
    'FROM scratch AS broken',
    'COPY no-such-file /',
    'FROM deps AS test',
    'COPY test.txt /',
    'CMD ["cat", "/deps/dep.txt", "/test.txt"]',
    'FROM broken',
    '',
  ].join('\n'));
  tmp.file('target/dep.txt', 'dep\n');
  tmp.file('target/test.txt', 'test\n');
  const r = tsbuildOk(['build', '--root', root, '--target', 'test', '--build-arg', 'NOBODY_USES=1', '-t', 'target-test', ctx]);
  assert.match(r.stderr, /WARN: one or more build args were not consumed: \[NOBODY_USES\]/);
  assert.doesNotMatch(r.stderr, /no-such-file/);
  assert.equal(runWithPodman('target-test'), 'dep\ntest\n');
  // Without --target the last stage is built, and the broken stage fails at its line.
  const bad = tsbuild(['build', '--root', root, ctx]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^Error: Containerfile:5: COPY failed: file not found/m);
});

test('ADD of a URL without --checksum runs every time, and the steps after it follow what it downloaded', async () => {
  const ctx = tmp.dir('add-url-chain');
  let body = 'A\n';
  const server: Server = createServer((req, res) => res.end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    tmp.file('add-url-chain/Containerfile', `FROM busybox\nADD http://127.0.0.1:${port}/f.txt /f.txt\nRUN cp /f.txt /copy\n`);
    const build = async () => {
      const r = await tsbuildAsync(['build', '--root', root, '--progress=plain', '-t', 'add-url-chain', ctx]);
      assert.equal(r.status, 0, r.stderr);
      const run = tsbuildOk(['run', '--root', root, '--rm', 'add-url-chain', 'cat', '/f.txt', '/copy']).stdout;
      return { run, runStepCached: /STEP 3\/3: RUN cp[^\n]*\n--> CACHED/.test(r.stderr) };
    };
    assert.deepEqual(await build(), { run: 'A\nA\n', runStepCached: false });
    assert.deepEqual(await build(), { run: 'A\nA\n', runStepCached: true }, 'same download: the RUN after it hits');
    body = 'B\n';
    assert.deepEqual(await build(), { run: 'B\nB\n', runStepCached: false }, 'new download: the RUN after it runs again');
  } finally {
    server.close();
  }
});

test('ADD extracts local archives and downloads URLs with a checksum', async () => {
  const ctx = tmp.dir('add');
  tmp.file('add/payload/inner/file.txt', 'from the tarball\n');
  execFileSync('tar', ['-czf', join(ctx, 'payload.tar.gz'), '-C', join(ctx, 'payload'), '.']);
  const body = 'downloaded content\n';
  const server: Server = createServer((req, res) => {
    if (req.url === '/files/remote.txt') res.end(body);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const sum = createHash('sha256').update(body).digest('hex');
    tmp.file('add/Containerfile', [
      'FROM busybox',
      'ADD payload.tar.gz /unpacked/',
      `ADD --checksum=sha256:${sum} http://127.0.0.1:${port}/files/remote.txt /downloads/`,
      'CMD ["sh", "-c", "cat /unpacked/inner/file.txt /downloads/remote.txt; stat -c %a /downloads/remote.txt"]',
      '',
    ].join('\n'));
    const ok = await tsbuildAsync(['build', '--root', root, '-t', 'add-test', ctx]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(runWithPodman('add-test'), 'from the tarball\ndownloaded content\n600\n');

    tmp.file('add/Containerfile', `FROM busybox\nADD --checksum=sha256:${'0'.repeat(64)} http://127.0.0.1:${port}/files/remote.txt /x\n`);
    const bad = await tsbuildAsync(['build', '--root', root, ctx]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^Error: Containerfile:2: .*checksum.*remote\.txt|^Error: Containerfile:2: .*remote\.txt.*checksum/m);
  } finally {
    server.close();
  }
});
