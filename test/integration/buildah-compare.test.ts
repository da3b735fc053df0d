// The same Containerfiles (no RUN) built by tsbuild and by buildah must give the same image config
// and the same file tree (paths, types, modes, owners, contents, link targets).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync, linkSync } from 'node:fs';
import { join } from 'node:path';
import { TempDir, tsbuildOk } from '../helpers/cli.js';
import { Buildah } from '../helpers/buildah.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';
import { diffTrees } from '../helpers/tree.js';
import { comparableConfig, unpackedTree } from '../helpers/compare.js';

let tmp: TempDir;
let root: string;
let buildah: Buildah;
let busybox: BusyboxImage;

before(() => {
  tmp = new TempDir();
  root = tmp.dir('store');
  buildah = new Buildah();
  busybox = makeBusyboxImage();
  tsbuildOk(['pull', '--root', root, `docker-archive:${busybox.dockerArchive}`]);
  // (buildah names an oci: pull after its path, which fails for mixed-case temp dirs; the archive carries the name)
  buildah.pull(`docker-archive:${busybox.dockerArchive}`, 'docker.io/library/busybox:latest');
});
after(() => {
  buildah?.cleanup();
  busybox?.cleanup();
  tmp?.cleanup();
});

function compare(name: string, files: Record<string, string | { link: string } | { hardlink: string } | { mode: number; content: string }>, containerfile: string): void {
  const ctx = tmp.dir(`ctx-${name}`);
  tmp.file(`ctx-${name}/Containerfile`, containerfile);
  for (const [rel, spec] of Object.entries(files)) {
    if (typeof spec === 'string') tmp.file(`ctx-${name}/${rel}`, spec);
    else if ('link' in spec) {
      tmp.dir(`ctx-${name}/${rel.split('/').slice(0, -1).join('/')}`);
      symlinkSync(spec.link, join(ctx, rel));
    } else if ('hardlink' in spec) linkSync(join(ctx, spec.hardlink), join(ctx, rel));
    else tmp.file(`ctx-${name}/${rel}`, spec.content, spec.mode);
  }
  const ours = join(tmp.path, `ours-${name}`);
  const theirs = join(tmp.path, `theirs-${name}`);
  tsbuildOk(['build', '--root', root, '-t', `cmp-${name}`, ctx]);
  tsbuildOk(['push', '--root', root, `cmp-${name}`, `oci:${ours}:img`]);
  buildah.build(ctx, `cmp-${name}`);
  buildah.push(`cmp-${name}`, `oci:${theirs}:img`);

  assert.deepEqual(comparableConfig(ours), comparableConfig(theirs), `${name}: image config`);
  const diffs = diffTrees(unpackedTree(ours), unpackedTree(theirs));
  assert.deepEqual(diffs, [], `${name}: file trees differ (tsbuild vs buildah)`);
}

test('scratch: COPY forms, chown/chmod, metadata instructions', () => {
  compare(
    'scratch',
    {
      'a.txt': 'a\n',
      'dir/b.txt': 'b\n',
      'dir/sub/c.txt': 'c\n',
      'dir/link': { link: 'b.txt' },
      'dir/hard': { hardlink: 'dir/b.txt' },
      'run.sh': { mode: 0o755, content: '#!/bin/sh\n' },
      'secret.key': { mode: 0o600, content: 'k\n' },
      'x1.conf': '1\n',
      'x2.conf': '2\n',
    },
    [
      'FROM scratch',
      'ARG WHERE=/opt',
      'ENV A=1 B="two words"',
      'COPY a.txt /',
      'COPY dir $WHERE/dir',
      'COPY dir/ /copy-of-dir-contents/',
      'COPY *.conf /etc/conf.d/',
      'COPY --chown=10:20 run.sh secret.key /bin/',
      'COPY --chmod=751 a.txt /usr/local/bin/a',
      'WORKDIR /work/deeper',
      'COPY a.txt relative.txt',
      'LABEL maintainer="someone" "with space"=yes',
      'EXPOSE 80/tcp 443',
      'VOLUME ["/data", "/logs"]',
      'USER 1000:1000',
      'STOPSIGNAL SIGQUIT',
      'HEALTHCHECK --interval=30s --timeout=5s --retries=2 CMD ["/bin/check"]',
      'ENTRYPOINT /bin/app --flag',
      '',
    ].join('\n'),
  );
});

test('busybox base: --chown by name, WORKDIR, shell, onbuild, cmd/entrypoint', () => {
  compare(
    'busybox',
    { 'app/index.txt': 'hello\n', 'app/bin/tool': { mode: 0o755, content: '#!/bin/sh\necho tool\n' } },
    [
      'FROM busybox',
      'COPY --chown=app:staff app /home/app/',
      'WORKDIR /srv/www',
      // (buildah 1.28 ignores SHELL for a shell-form CMD; Docker and BuildKit apply it, and so do we:
      // see the solver unit tests. Here CMD is in exec form so both agree.)
      'SHELL ["/bin/sh", "-ec"]',
      'CMD ["echo", "exec form"]',
      'ONBUILD COPY . /onbuild/',
      'ENV PATH=/home/app/bin:$PATH',
      '',
    ].join('\n'),
  );
});

test('multi-stage: COPY --from a stage by name and index, unused stage skipped', () => {
  compare(
    'multistage',
    { 'one.txt': '1\n', 'two.txt': '2\n' },
    [
      'FROM busybox AS first',
      'COPY one.txt /stage1/',
      'FROM scratch AS unused',
      'COPY does-not-exist /',
      'FROM busybox',
      'COPY --from=first /stage1/one.txt /from-first/',
      'COPY --from=0 /bin/busybox /from-index/busybox',
      'COPY two.txt /',
      '',
    ].join('\n'),
  );
});

test('symlinks named as COPY sources are followed inside the context; links in copied dirs stay links', () => {
  compare(
    'source-links',
    {
      'target.txt': 't\n',
      'dir/inner.txt': 'i\n',
      'dir/inner-abs': { link: '/target.txt' },
      'abs-link': { link: '/target.txt' },
      'rel-link': { link: 'target.txt' },
      'dir-link': { link: 'dir' },
      'sub/up-link': { link: '../../../../target.txt' },
      'sub/abs-dir-link': { link: '/dir' },
      'globbed-1': { link: '/target.txt' },
      'globbed-2': { link: 'dir/inner.txt' },
    },
    [
      'FROM scratch',
      'COPY abs-link rel-link /one/',
      'COPY dir-link /two/',
      'COPY sub/up-link /three/',
      'COPY sub/abs-dir-link/inner.txt /four/',
      'COPY globbed-* /five/',
      'COPY dir /six/',
      '',
    ].join('\n'),
  );
});
