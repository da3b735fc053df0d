// Builds from scratch through the real CLI, then checks the result with independent tools:
// umoci unpack (tree, modes, owners, symlinks, hardlinks), skopeo inspect (config),
// oci-image-tool validate (layout and manifests).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { linkSync, symlinkSync, chmodSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { TempDir, tsbuild, tsbuildOk, lastLine } from '../helpers/cli.js';
import { snapshotTree } from '../helpers/tree.js';

let tmp: TempDir;
let root: string;

before(() => {
  tmp = new TempDir();
  root = tmp.dir('store');
});
after(() => tmp.cleanup());

function unpack(ref: string, into: string): string {
  execFileSync('umoci', ['unpack', '--image', ref, into], { stdio: 'pipe' });
  return join(into, 'rootfs');
}

test('scratch build: files, modes, owners, symlinks, hardlinks, ignore file, config', () => {
  const ctx = tmp.dir('ctx1');
  tmp.file('ctx1/Containerfile', [
    'FROM scratch',
    'ARG VERSION=1.0',
    'ENV APP_HOME=/app PATH=/bin',
    'LABEL version=$VERSION description="a test image"',
    'WORKDIR $APP_HOME',
    'COPY --chown=1234:5678 files/ ./',
    'COPY --chmod=0700 tool.sh /usr/local/bin/tool',
    'COPY link-to-a sub/',
    'EXPOSE 8080 53/udp',
    'VOLUME /data',
    'USER 1234',
    'STOPSIGNAL SIGTERM',
    'ENTRYPOINT ["/usr/local/bin/tool"]',
    'CMD ["--help"]',
    '',
  ].join('\n'));
  tmp.file('ctx1/files/a.txt', 'alpha\n', 0o640);
  tmp.file('ctx1/files/exec.sh', '#!/bin/sh\n', 0o755);
  tmp.file('ctx1/files/deep/nested/file.txt', 'deep\n');
  tmp.file('ctx1/files/ignored.log', 'should not be copied\n');
  tmp.file('ctx1/files/' + 'long-name-'.repeat(12) + '.txt', 'long\n');
  linkSync(join(ctx, 'files/a.txt'), join(ctx, 'files/a-hardlink.txt'));
  symlinkSync('a.txt', join(ctx, 'files/a-symlink'));
  tmp.file('ctx1/tool.sh', '#!/bin/sh\necho tool\n', 0o644);
  symlinkSync('files/a.txt', join(ctx, 'link-to-a'));
  tmp.file('ctx1/.dockerignore', '**/*.log\n');
  chmodSync(join(ctx, 'files/a.txt'), 0o640);

  const r = tsbuildOk(['build', '--root', root, '-t', 'scratch-test', ctx]);
  const id = lastLine(r.stdout);
  assert.match(id, /^[a-f0-9]{64}$/);
  assert.match(r.stderr, /STEP 1\/14: FROM scratch/);

  const layout = join(tmp.path, 'layout1');
  tsbuildOk(['push', '--root', root, 'scratch-test', `oci:${layout}:v1`]);
  // Debian's oci-image-tool (1.0.0-rc1) validates a layout as --type image.
  execFileSync('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=v1', layout], { stdio: 'pipe' });

  const cfg = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${layout}:v1`], { encoding: 'utf8' }));
  assert.deepEqual(cfg.config.Entrypoint, ['/usr/local/bin/tool']);
  assert.deepEqual(cfg.config.Cmd, ['--help']);
  assert.equal(cfg.config.WorkingDir, '/app');
  assert.equal(cfg.config.User, '1234');
  assert.equal(cfg.config.StopSignal, 'SIGTERM');
  assert.deepEqual(cfg.config.Env, ['PATH=/bin', 'APP_HOME=/app'], 'the default PATH of a scratch stage is replaced in place');
  assert.deepEqual(cfg.config.Labels, { version: '1.0', description: 'a test image' });
  assert.deepEqual(Object.keys(cfg.config.ExposedPorts).sort(), ['53/udp', '8080/tcp']);
  assert.deepEqual(Object.keys(cfg.config.Volumes), ['/data']);
  assert.ok(!JSON.stringify(cfg).includes('VERSION=1.0'), 'build args must not reach the config');
  assert.equal(cfg.history.length, 12, "one entry per instruction after FROM, none for ARG");
  assert.equal(cfg.rootfs.diff_ids.length, cfg.history.filter((h: { empty_layer?: boolean }) => !h.empty_layer).length);

  const rootfs = unpack(`${layout}:v1`, join(tmp.path, 'bundle1'));
  const tree = snapshotTree(rootfs);
  assert.equal(readFileSync(join(rootfs, 'app/a.txt'), 'utf8'), 'alpha\n');
  assert.deepEqual({ mode: tree.get('app/a.txt')!.mode, uid: tree.get('app/a.txt')!.uid, gid: tree.get('app/a.txt')!.gid }, { mode: '0640', uid: 1234, gid: 5678 });
  assert.equal(tree.get('app/exec.sh')!.mode, '0755');
  assert.equal(tree.get('app/deep/nested/file.txt')!.uid, 1234, '--chown applies to copied directories and their contents');
  assert.equal(tree.get('app/deep')!.uid, 1234);
  assert.equal(tree.get('app/ignored.log'), undefined, '.dockerignore is honoured');
  assert.equal(tree.get('app/' + 'long-name-'.repeat(12) + '.txt')!.type, 'file');
  assert.deepEqual(tree.get('app/a-symlink'), { type: 'symlink', mode: tree.get('app/a-symlink')!.mode, uid: 1234, gid: 5678, link: 'a.txt' });
  assert.equal(statSync(join(rootfs, 'app/a.txt')).ino, statSync(join(rootfs, 'app/a-hardlink.txt')).ino, 'hardlinks stay hardlinks');
  assert.equal(tree.get('usr/local/bin/tool')!.mode, '0700');
  assert.equal(tree.get('usr/local/bin')!.mode, '0755');
  // COPY of a symlink named on the line copies the file it points to (BuildKit follows it).
  assert.equal(readFileSync(join(rootfs, 'app/sub/link-to-a'), 'utf8'), 'alpha\n');
  assert.equal(tree.get('app/sub/link-to-a')!.type, 'file');
  void utimesSync;
});

test('reproducible: --timestamp gives the same digest twice and in a second store', () => {
  const ctx = tmp.dir('ctx2');
  tmp.file('ctx2/Containerfile', 'FROM scratch\nCOPY . /src/\nLABEL a=b\nCMD ["x"]\n');
  tmp.file('ctx2/one.txt', '1\n');
  tmp.file('ctx2/two/three.txt', '3\n');
  const digests = [root, tmp.dir('store-b'), root].map((r) => {
    const out = join(tmp.path, `iid-${Math.random()}`);
    tsbuildOk(['build', '--root', r, '--timestamp', '0', '--iidfile', out, '-t', 'repro', ctx]);
    const insp = JSON.parse(tsbuildOk(['inspect', '--root', r, 'repro']).stdout);
    return { id: readFileSync(out, 'utf8'), digest: insp.Digest, created: insp.Created };
  });
  assert.equal(digests[0].digest, digests[1].digest);
  assert.equal(digests[0].digest, digests[2].digest);
  assert.equal(digests[0].id, digests[1].id);
  assert.equal(digests[0].created, '1970-01-01T00:00:00.000Z');
});

test('docker format writes a Docker schema 2 manifest', () => {
  const ctx = tmp.dir('ctx3');
  tmp.file('ctx3/Containerfile', 'FROM scratch\nCOPY f /f\n');
  tmp.file('ctx3/f', 'f\n');
  tsbuildOk(['build', '--root', root, '--format', 'docker', '-t', 'dockerfmt', ctx]);
  const m = JSON.parse(tsbuildOk(['inspect', '--root', root, '--type', 'manifest', 'dockerfmt']).stdout);
  assert.equal(m.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  assert.equal(m.layers[0].mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
});
