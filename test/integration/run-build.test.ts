// RUN end to end with the real CLI on a busybox base, as root (oci and chroot isolation) and as an
// unprivileged user (rootless): what lands in the layers (checked with umoci unpack and podman
// run), owners, modes, env/workdir, exit codes, --network=none, secrets, cache mounts, and that an
// interrupted build leaves no mount, process or temp dir behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { CLI, lastLine } from '../helpers/cli.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';
import { chownTree, ensureTestUser, findProcesses, tempDir, type TestUser } from '../helpers/native-rootfs.js';
import { Podman } from '../helpers/podman.js';

type Mode = 'oci' | 'chroot' | 'rootless';

let work: string;
let busybox: BusyboxImage;
let user: TestUser;
let podman: Podman;
const stores = new Map<Mode, string>();

/** Run the CLI as root, or as the test user for rootless (its store and files owned by it). */
function cli(mode: Mode, args: string[], env: NodeJS.ProcessEnv = {}): { status: number; stdout: string; stderr: string } {
  const full = [CLI, ...args];
  const iso = mode === 'rootless' ? [] : ['--isolation', mode];
  if (args[0] === 'build') full.splice(2, 0, ...iso);
  const r =
    mode === 'rootless'
      ? spawnSync('runuser', ['-u', user.name, '--', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), process.execPath, ...full], { encoding: 'utf8', cwd: work, timeout: 300_000 })
      : spawnSync(process.execPath, full, { encoding: 'utf8', cwd: work, env: { ...process.env, ...env }, timeout: 300_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function ok(mode: Mode, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = cli(mode, args, env);
  assert.equal(r.status, 0, `tsbuild ${args.join(' ')} (${mode}):\n${r.stderr}`);
  return r.stdout + r.stderr;
}

function context(name: string, containerfile: string, files: Record<string, string> = {}): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Containerfile'), containerfile);
  for (const [k, v] of Object.entries(files)) writeFileSync(join(dir, k), v);
  chownTree(dir, user.uid, user.gid);
  return dir;
}

/** Build, push to an oci: layout, unpack with umoci (as root): the rootfs path and the layout. */
function buildAndUnpack(mode: Mode, name: string, containerfile: string, extra: string[] = []): { rootfs: string; layout: string; log: string } {
  const ctx = context(`${name}-${mode}`, containerfile);
  const root = stores.get(mode)!;
  const log = ok(mode, ['build', '--root', root, '-t', name, ...extra, ctx]);
  const layout = join(work, `${name}-${mode}-oci`);
  ok(mode, ['push', '--root', root, name, `oci:${layout}:img`]);
  const bundle = join(work, `${name}-${mode}-bundle`);
  execFileSync('umoci', ['unpack', '--image', `${layout}:img`, bundle], { stdio: 'pipe' });
  return { rootfs: join(bundle, 'rootfs'), layout, log };
}

/** Every blob of an OCI layout, layers decompressed. */
function blobs(layout: string): Buffer[] {
  const dir = join(layout, 'blobs', 'sha256');
  return readdirSync(dir).map((f) => {
    const b = readFileSync(join(dir, f));
    return b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b;
  });
}

/**
 * A 105-byte static i386 ELF: unshare(CLONE_NEWUSER) through `int 0x80`, then exit with
 * the errno (0 when allowed). The filter must cover the 32-bit syscall table, or this gets past it.
 */
function unshare32Elf(): Buffer {
  const code = Buffer.from('b836010000' + 'bb00000010' + 'cd80' + 'f7d8' + '89c3' + 'b801000000' + 'cd80', 'hex'); // mov eax,310; mov ebx,CLONE_NEWUSER; int 0x80; neg eax; mov ebx,eax; mov eax,1; int 0x80
  const base = 0x08048000;
  const headers = 52 + 32;
  const total = headers + code.length;
  const elf = Buffer.alloc(total);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]).copy(elf, 0); // ELF, 32-bit, little-endian, version 1
  elf.writeUInt16LE(2, 16); // ET_EXEC
  elf.writeUInt16LE(3, 18); // EM_386
  elf.writeUInt32LE(1, 20);
  elf.writeUInt32LE(base + headers, 24); // entry
  elf.writeUInt32LE(52, 28); // program headers follow the ELF header
  elf.writeUInt16LE(52, 40);
  elf.writeUInt16LE(32, 42);
  elf.writeUInt16LE(1, 44);
  for (const [i, v] of [1, 0, base, base, total, total, 5, 0x1000].entries()) elf.writeUInt32LE(v, 52 + i * 4); // PT_LOAD, R+X
  code.copy(elf, headers);
  return elf;
}

/**
 * Whether this kernel runs i386 code at all: some hosts (IA32 emulation off) refuse any 32-bit ELF
 * (ENOEXEC; execvp then hands the file to sh, which exits 127), and there the i386 half of the
 * filter cannot be shown either way. Run here, unfiltered and as root, the probe's unshare succeeds.
 */
function hostRunsI386(): boolean {
  const probe = join(work, 'i386-probe');
  writeFileSync(probe, unshare32Elf(), { mode: 0o755 });
  const r = spawnSync(probe, [], { stdio: 'ignore' });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOEXEC' || r.status === 126 || r.status === 127) return false;
  assert.equal(r.status, 0, `the i386 probe run on the host: status ${r.status}, signal ${r.signal}, ${r.error ?? ''}`);
  return true;
}

before(() => {
  work = tempDir('tsbuild-run-');
  user = ensureTestUser();
  chownTree(work, user.uid, user.gid);
  busybox = makeBusyboxImage();
  const archive = join(work, 'busybox.tar');
  copyFileSync(busybox.dockerArchive, archive);
  chownTree(archive, user.uid, user.gid);
  podman = new Podman();
  for (const mode of ['oci', 'chroot', 'rootless'] as Mode[]) {
    const root = join(work, `store-${mode}`);
    mkdirSync(root);
    chownTree(root, user.uid, user.gid);
    stores.set(mode, root);
    ok(mode, ['pull', '--root', root, `docker-archive:${archive}`]);
  }
});
after(() => {
  podman?.cleanup();
  busybox?.cleanup();
  // rootless stores hold files owned by subordinate ids: root removes them.
  if (work) execFileSync('rm', ['-rf', work]);
});

const TREE = [
  'FROM busybox',
  'ARG A=from-arg',
  'ENV E=from-env',
  'RUN mkdir -p /gone/d && echo x > /gone/d/f && echo y > /etc/del-me && echo keep > /etc/keep',
  'RUN rm -rf /gone /etc/del-me && rm /bin/ls && echo t > /tmp/transient && rm /tmp/transient',
  'RUN mkdir /home/app/own && chown app:app /home/app/own && mkdir -p /usr/local/bin && echo s > /usr/local/bin/suid && chmod 4755 /usr/local/bin/suid && echo p > /etc/private && chmod 600 /etc/private',
  'WORKDIR /wd',
  'RUN echo "$E $A $(pwd)" > out && ln /etc/keep /etc/keep-hard',
  'USER app',
  'RUN touch /home/app/own/byapp && id -u > /home/app/own/id',
  '',
].join('\n');

for (const mode of ['oci', 'chroot', 'rootless'] as Mode[]) {
  test(`${mode}: files written and deleted, owners, modes, env and workdir`, () => {
    const { rootfs, layout } = buildAndUnpack(mode, 'tree', TREE);
    assert.ok(!existsSync(join(rootfs, 'gone')), 'deleted directory is gone');
    assert.ok(!existsSync(join(rootfs, 'etc/del-me')), 'deleted file is gone');
    assert.ok(!existsSync(join(rootfs, 'bin/ls')), 'deleted base file is gone');
    assert.equal(readFileSync(join(rootfs, 'wd/out'), 'utf8'), 'from-env from-arg /wd\n');
    const own = lstatSync(join(rootfs, 'home/app/own'));
    assert.deepEqual([own.uid, own.gid], [1000, 1000], 'chown app:app');
    const byapp = lstatSync(join(rootfs, 'home/app/own/byapp'));
    assert.deepEqual([byapp.uid, byapp.gid], [1000, 1000], 'file made under USER app');
    assert.equal(readFileSync(join(rootfs, 'home/app/own/id'), 'utf8'), '1000\n');
    assert.equal(lstatSync(join(rootfs, 'usr/local/bin/suid')).mode & 0o7777, 0o4755);
    assert.equal(lstatSync(join(rootfs, 'etc/private')).mode & 0o7777, 0o600);
    assert.equal(lstatSync(join(rootfs, 'etc/keep-hard')).ino, lstatSync(join(rootfs, 'etc/keep')).ino, 'hardlink kept');
    // The transient file never reaches any layer; the build arg is not in the config.
    const all = blobs(layout);
    const layers = all.filter((b) => b[0] !== 0x7b); // not JSON: layer tars
    assert.ok(!layers.some((b) => b.includes('tmp/transient')), 'created and deleted in one step: no trace');
    const config = all.map((b) => b.toString('latin1')).find((s) => s.includes('"rootfs"') && s.includes('diff_ids'))!;
    assert.ok(!config.includes('A=from-arg"'), 'build arg not in config Env');
    assert.match(config, /RUN \|1 A=from-arg \/bin\/sh -c echo \\"\$E \$A \$\(pwd\)\\" > out/);
    if (mode === 'oci') {
      const archive = join(work, 'tree.tar');
      ok(mode, ['push', '--root', stores.get(mode)!, 'tree', `docker-archive:${archive}:localhost/runtree:latest`]);
      const name = podman.load(archive);
      assert.equal(podman.run(name, ['sh', '-c', 'cat /wd/out; test -e /gone || echo no-gone; id -un; stat -c %u /home/app/own/byapp']).trim(), 'from-env from-arg /wd\nno-gone\napp\n1000');
    }
  });
}

for (const mode of ['oci', 'rootless'] as Mode[]) {
  test(`${mode}: a failing RUN names its line and exits with its status, without a stack trace`, () => {
    const ctx = context(`fail-${mode}`, 'FROM busybox\nRUN echo before\nRUN exit 7\n');
    const r = cli(mode, ['build', '--root', stores.get(mode)!, '-t', 'fails', ctx]);
    assert.equal(r.status, 7, 'the RUN\'s own status, as buildah bud exits');
    assert.match(r.stderr, /^Error: Containerfile:3: RUN exited with status 7$/m);
    assert.match(r.stderr, /^before$/m, 'output streamed');
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    const k = cli(mode, ['build', '--root', stores.get(mode)!, context(`kill-${mode}`, 'FROM busybox\nRUN kill -9 $$\n')]);
    assert.match(k.stderr, /^Error: Containerfile:2: RUN was killed by SIGKILL$/m);
    assert.equal(k.status, 1, 'a killed RUN is a plain failure, not 137');
  });

  test(`${mode}: RUN has the host name in $HOSTNAME, unless the image sets it`, () => {
    const log = ok(mode, ['build', '--root', stores.get(mode)!, '--no-cache', context(`hostname-${mode}`, 'FROM busybox\nRUN echo "host=$HOSTNAME/$(hostname)"\nENV HOSTNAME=mine\nRUN echo "env=$HOSTNAME"\n')]);
    assert.match(log, /^host=tsbuild\/tsbuild$/m);
    assert.match(log, /^env=mine$/m);
  });

  test(`${mode}: a RUN that leaves a file name that is not UTF-8 fails, naming it and its line`, () => {
    const r = cli(mode, ['build', '--root', stores.get(mode)!, '--no-cache', context(`latin1-${mode}`, 'FROM busybox\nRUN mkdir -p /d && touch "/d/caf$(printf \'\\351\')"\n')]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^Error: Containerfile:2: RUN failed: a file name that is not UTF-8: "\/d\/caf\\xe9"$/m);
  });

  test(`${mode}: --network=none has only loopback`, () => {
    const ctx = context(`net-${mode}`, 'FROM busybox\nRUN --network=none echo "ifs:$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\\n" ,)"\n');
    const log = ok(mode, ['build', '--root', stores.get(mode)!, ctx]);
    assert.match(log, /^ifs:lo,$/m);
  });

  test(`${mode}: a secret is usable by RUN and absent from layers, config and log`, () => {
    const secret = `s3cr3t-${mode}-${Date.now()}`;
    const file = join(work, `secret-value-${mode}`);
    writeFileSync(file, secret);
    chownTree(file, user.uid, user.gid);
    const { layout, log } = buildAndUnpack(mode, 'secret', `FROM busybox\nRUN --mount=type=secret,id=tok,required test "$(wc -c < /run/secrets/tok)" -eq ${secret.length} && echo secret-ok && ls /run/secrets > /listing\n`, ['--secret', `id=tok,src=${file}`]);
    assert.match(log, /^secret-ok$/m);
    assert.ok(!log.includes(secret));
    for (const b of blobs(layout)) assert.ok(!b.includes(secret), 'secret in a blob');
  });

  test(`${mode}: a bind mount of the context shows only what .dockerignore lets through`, () => {
    const ctx = context(`bindignore-${mode}`, [
      'FROM busybox',
      // Listed on one line each: every path the step can see below /ctx, then a rw bind's view.
      'RUN --mount=type=bind,target=/ctx cd /ctx && find . -mindepth 1 | sort | sed "s/^/seen:/" && if (echo x >> app.txt) 2>/dev/null; then echo WRIT""ABLE; fi',
      'RUN --mount=type=bind,source=logs,target=/logs,rw sh -c "ls /logs | sed s/^/logs:/; echo new > /logs/written"',
      'RUN --mount=type=cache,target=/seeded,source=logs,id=bindignore-' + mode + ' ls /seeded | sed "s/^/seed:/"',
      '',
    ].join('\n'), { '.dockerignore': 'secret.env\nlogs\n!logs/keep.txt\n', 'secret.env': 'TOKEN=1', 'app.txt': 'app' });
    mkdirSync(join(ctx, 'logs'));
    writeFileSync(join(ctx, 'logs', 'a.log'), 'log');
    writeFileSync(join(ctx, 'logs', 'keep.txt'), 'keep');
    chownTree(ctx, user.uid, user.gid);
    const log = ok(mode, ['build', '--root', stores.get(mode)!, ctx]);
    const seen = [...log.matchAll(/^seen:\.\/(.*)$/gm)].map((m) => m[1]);
    assert.deepEqual(seen.filter((p) => !['Containerfile', '.dockerignore'].includes(p!)), ['app.txt', 'logs', 'logs/keep.txt']);
    assert.deepEqual([...log.matchAll(/^logs:(.*)$/gm)].map((m) => m[1]), ['keep.txt']);
    assert.deepEqual([...log.matchAll(/^seed:(.*)$/gm)].map((m) => m[1]), ['keep.txt']);
    assert.ok(!existsSync(join(ctx, 'logs', 'written')), 'a rw bind writes to a copy, not the context');
    assert.ok(!log.includes('WRITABLE'), 'a read-only bind (hard links to the context) cannot be written');
    assert.equal(readFileSync(join(ctx, 'app.txt'), 'utf8'), 'app');
    const hidden = cli(mode, ['build', '--root', stores.get(mode)!, context(`bindhidden-${mode}`, 'FROM busybox\nRUN --mount=type=bind,source=secret.env,target=/s cat /s\n', { '.dockerignore': 'secret.env\n', 'secret.env': 'TOKEN=1' })]);
    assert.equal(hidden.status, 1);
    assert.match(hidden.stderr, /^Error: Containerfile:2: RUN --mount failed: file not found in build context or excluded by .dockerignore: stat secret.env: file does not exist$/m);
  });

  test(`${mode}: the default syscall filter refuses new namespaces, also to 32-bit code; seccomp=unconfined lifts it`, (t) => {
    const i386 = hostRunsI386();
    if (!i386) t.diagnostic('this kernel runs no i386 code (ENOEXEC): only the 64-bit half of the filter is checked');
    // Marker words are split in the command so that the echoed step line cannot match them.
    const cf = [
      'FROM busybox',
      'COPY unshare32 /unshare32',
      'RUN if unshare -U true; then echo USERNS""-ALLOWED; else echo USERNS""-REFUSED; fi; if unshare -n true; then echo NETNS""-ALLOWED; else echo NETNS""-REFUSED; fi; /unshare32; echo "I386""-ERRNO=$?"',
      '',
    ].join('\n');
    const withElf = (name: string) => {
      const dir = context(name, cf);
      writeFileSync(join(dir, 'unshare32'), unshare32Elf(), { mode: 0o755 });
      chownTree(dir, user.uid, user.gid);
      return dir;
    };
    const root = stores.get(mode)!;
    const filtered = ok(mode, ['build', '--no-cache', '--root', root, withElf(`seccomp-${mode}`)]);
    assert.match(filtered, /^USERNS-REFUSED$/m);
    assert.match(filtered, /^NETNS-REFUSED$/m);
    assert.match(filtered, /Operation not permitted/); // EPERM from the filter, as Docker's profile answers
    if (i386) assert.match(filtered, /^I386-ERRNO=1$/m, 'the i386 ABI is filtered too (EPERM)');
    const unconfined = ok(mode, ['build', '--no-cache', '--security-opt', 'seccomp=unconfined', '--root', root, withElf(`unconfined-${mode}`)]);
    assert.match(unconfined, /^USERNS-ALLOWED$/m);
    if (i386) assert.match(unconfined, /^I386-ERRNO=0$/m);
    const bad = cli(mode, ['build', '--security-opt', 'seccomp=/profile.json', '--root', root, withElf(`badseccomp-${mode}`)]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^Error: --security-opt seccomp=\/profile\.json: seccomp profiles are not supported/m);
  });

  test(`${mode}: a cache mount keeps its content across two builds`, () => {
    const cf = (n: number) => `FROM busybox\nRUN --mount=type=cache,target=/var/cache/x,id=c1 echo run${n} >> /var/cache/x/log && echo "lines=$(wc -l < /var/cache/x/log)"\n`;
    const root = stores.get(mode)!;
    assert.match(ok(mode, ['build', '--root', root, context(`cache1-${mode}`, cf(1))]), /^lines=1$/m);
    const second = ok(mode, ['build', '--root', root, context(`cache2-${mode}`, cf(2))]);
    assert.match(second, /^lines=2$/m);
  });
}

test('oci: two writers of one cache mount: sharing=locked waits, sharing=private gives the second its own directory', () => {
  const cf = (sharing: string) => ['a', 'b'].map((n) => [
    `FROM busybox AS ${n}`,
    `RUN --mount=type=cache,target=/c,id=two-writers-${sharing},sharing=${sharing} sh -c 'echo ${n} >> /c/log; sleep 2; echo "${n}-saw:$(tr "\\n" " " < /c/log)"'`,
  ].join('\n')).join('\n') + '\nFROM busybox\nCOPY --from=a /etc/passwd /a\nCOPY --from=b /etc/passwd /b\n';
  const root = stores.get('oci')!;
  const saw = (log: string) => [...log.matchAll(/\b([ab])-saw:([ab ]*)$/gm)].map((m) => `${m[1]}:${m[2]!.trim()}`).sort();
  // The two stages run at once (--jobs 2): a locked mount lets the second in after the first.
  const locked = saw(ok('oci', ['build', '--root', root, '--jobs', '2', '--no-cache', context('locked-writers', cf('locked'))]));
  assert.equal(locked.filter((l) => / /.test(l)).length, 1, `one writer saw both: ${locked.join(' | ')}`);
  // private: neither waits, each writes its own directory.
  assert.deepEqual(saw(ok('oci', ['build', '--root', root, '--jobs', '2', '--no-cache', context('private-writers', cf('private'))])), ['a:a', 'b:b']);
});

for (const mode of ['oci', 'rootless'] as Mode[]) {
  test(`${mode}: 150 layers still RUN and run (the overlay options fit in a page)`, () => {
    const cf = ['FROM busybox', ...Array.from({ length: 150 }, (_, i) => `COPY f /d/f${i}`), 'RUN echo "count=$(ls /d | wc -l)"', ''].join('\n');
    const root = stores.get(mode)!;
    assert.match(ok(mode, ['build', '--root', root, '-t', 'deep', context(`deep-${mode}`, cf, { f: 'x\n' })]), /^count=150$/m);
    assert.equal(ok(mode, ['run', '--root', root, '--rm', 'deep', 'sh', '-c', 'ls /d | wc -l']).trim().split('\n').pop(), '150');
  });
}

test('oci: a failing stage stops the stages running beside it; its own error is the one reported', () => {
  const root = stores.get('oci')!;
  const ctx = context('stage-fails', [
    'FROM busybox AS slow',
    'RUN echo slow-started && sleep 40 && echo slow-finished',
    'FROM busybox AS bad',
    'RUN sleep 1; exit 3',
    'FROM busybox',
    'COPY --from=slow /etc/passwd /a',
    'COPY --from=bad /etc/passwd /b',
    '',
  ].join('\n'));
  const started = Date.now();
  const r = cli('oci', ['build', '--root', root, '--jobs', '2', '--no-cache', ctx]);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /^Error: Containerfile:4: RUN exited with status 3$/m);
  assert.doesNotMatch(r.stderr, /\] slow-finished$|interrupted/m);
  assert.ok(Date.now() - started < 30_000, 'the slow stage was not waited for');
  assert.deepEqual(findProcesses('sleep', '40'), [], 'no process left');
  assert.deepEqual(readdirSync(join(root, 'tmp')), [], 'no temp dir left');
});

test('oci: a secret required but not given fails at its line', () => {
  const r = cli('oci', ['build', '--root', stores.get('oci')!, context('nosecret', 'FROM busybox\nRUN --mount=type=secret,id=nope,required true\n')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^Error: Containerfile:2: secret nope not found/m);
  const bad = cli('oci', ['build', '--root', stores.get('oci')!, context('badmount', 'FROM busybox\nRUN --mount=type=bogus,target=/x true\n')]);
  assert.match(bad.stderr, /^Error: Containerfile:2: unsupported mount type "bogus"$/m);
  const insecure = cli('oci', ['build', '--root', stores.get('oci')!, context('insecure', 'FROM busybox\nRUN --security=insecure true\n')]);
  assert.match(insecure.stderr, /^Error: Containerfile:2: RUN --security=insecure is not supported$/m);
});

for (const mode of ['oci', 'chroot'] as Mode[]) {
  test(`${mode}: SIGINT during RUN leaves no mount, no process and no temp dir`, async () => {
    const root = stores.get(mode)!;
    // chroot: the second RUN works in the directory the first one left, which must go too.
    const ctx = context(`interrupt-${mode}`, 'FROM busybox\nRUN echo first > /first\nRUN echo started && sleep 30\n');
    const child = spawn(process.execPath, [CLI, 'build', '--isolation', mode, '--root', root, ctx], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`RUN did not start: ${err}`)), 60_000);
      child.stderr.on('data', () => {
        if (err.includes('started')) (clearTimeout(t), resolve());
      });
    });
    const started = Date.now();
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.ok(Date.now() - started < 15_000, 'stopped promptly');
    assert.notEqual(code, 0);
    assert.doesNotMatch(err, /\n\s+at /);
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(root), 'no mount left');
    assert.deepEqual(findProcesses('sleep', '30'), [], 'no process left');
    assert.deepEqual(readdirSync(join(root, 'tmp')), [], 'no temp dir left');
    // the store still works
    ok(mode, ['build', '--root', root, context(`after-interrupt-${mode}`, 'FROM busybox\nRUN true\n')]);
  });
}

test('rootless: COPY --from reads files private to another container user', () => {
  // With subordinate ids, /home/app below belongs to a host id this user is not: only the user
  // namespace can list and read it.
  const { rootfs } = buildAndUnpack('rootless', 'private-from', [
    'FROM busybox AS a',
    'RUN mkdir -p /home/app/.ssh && echo secret > /home/app/.ssh/key && echo big > /home/app/open && chmod 700 /home/app /home/app/.ssh && chmod 600 /home/app/.ssh/key && chown -R 1000:1000 /home/app',
    'FROM busybox',
    'COPY --from=a /home/app /copied',
    'COPY --from=a /home/app/.ssh/key /key',
    '',
  ].join('\n'));
  assert.equal(readFileSync(join(rootfs, 'copied/.ssh/key'), 'utf8'), 'secret\n');
  assert.equal(readFileSync(join(rootfs, 'key'), 'utf8'), 'secret\n');
  assert.equal(readFileSync(join(rootfs, 'copied/open'), 'utf8'), 'big\n');
  const dir = lstatSync(join(rootfs, 'copied/.ssh'));
  assert.deepEqual([dir.uid, dir.gid, dir.mode & 0o7777], [1000, 1000, 0o700]);
  const key = lstatSync(join(rootfs, 'key'));
  assert.deepEqual([key.uid, key.gid, key.mode & 0o7777], [1000, 1000, 0o600]);
});

test('oci: an image without /etc/passwd runs as uid 0 (RUN and tsbuild run); groups start with the primary one', () => {
  const ctx = context('scratch-user', [
    'FROM scratch',
    'COPY busybox /bin/busybox',
    'RUN ["/bin/busybox", "touch", "/made"]',
    'ENTRYPOINT ["/bin/busybox", "id"]',
    '',
  ].join('\n'));
  copyFileSync('/bin/busybox', join(ctx, 'busybox'));
  const root = stores.get('oci')!;
  ok('oci', ['build', '--root', root, '-t', 'scratch-user', ctx]);
  assert.match(ok('oci', ['run', '--root', root, '--rm', 'scratch-user']), /^uid=0 gid=0 groups=0$/m);
  // busybox's /etc/group lists root in wheel: `id` shows the primary group first, as under Docker.
  const log = ok('oci', ['build', '--root', root, '-t', 'groups', context('groups', 'FROM busybox\nRUN id\nUSER 1234:4321\nRUN id\nUSER root:app\nRUN id\n')]);
  assert.match(log, /^uid=0\(root\) gid=0\(root\) groups=0\(root\),10\(wheel\)$/m);
  assert.match(log, /^uid=1234 gid=4321 groups=4321$/m);
  // A group given: only that one, not the groups listing the user (root is in wheel), as runc.
  assert.match(log, /^uid=0\(root\) gid=1000\(app\) groups=1000\(app\)$/m);
  assert.match(ok('oci', ['run', '--root', root, '--rm', '-u', 'root:app', 'groups', 'id']), /^uid=0\(root\) gid=1000\(app\) groups=1000\(app\)$/m);
});

/** Every path of an unpacked rootfs with its type, mode, owner and content (or link target). */
function treeOf(rootfs: string, skip: Set<string>): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(rootfs, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      if (skip.has(path)) continue;
      const st = lstatSync(join(rootfs, path));
      const what = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? `-> ${readlinkSync(join(rootfs, path))}` : st.isFile() ? readFileSync(join(rootfs, path), 'latin1') : 'other';
      out.set(path, `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${what}`);
      if (st.isDirectory()) walk(path);
    }
  };
  walk('');
  return out;
}

test("chroot: the stage's rootfs is carried from one RUN to the next, and the image equals the oci build's", () => {
  const cf = [
    'FROM busybox',
    'RUN mkdir -p /data/sub && echo one > /data/one && echo gone > /data/sub/gone && stat -c %i /data/one > /ino1',
    'COPY added.txt /data/added.txt',
    'RUN cat /data/added.txt >> /data/one && rm -r /data/sub && rm /bin/ls && ln -s one /data/link && stat -c %i /data/one > /ino2',
    'WORKDIR /w',
    'ARG V=1',
    'RUN echo "v=$V" > /data/v && chmod 600 /data/one && chown 1000:1000 /data/added.txt && ls /data > /w/listing',
    '',
  ].join('\n');
  const trees = new Map<Mode, Map<string, string>>();
  for (const mode of ['chroot', 'oci'] as Mode[]) {
    const root = stores.get(mode)!;
    const ctx = context(`carry-${mode}`, cf, { 'added.txt': 'added\n' });
    ok(mode, ['build', '--root', root, '-t', 'carry', ctx]);
    assert.deepEqual(readdirSync(join(root, 'tmp')), [], `${mode}: no temp dir left`);
    const layout = join(work, `carry-${mode}-oci`);
    ok(mode, ['push', '--root', root, 'carry', `oci:${layout}:img`]);
    const bundle = join(work, `carry-${mode}-bundle`);
    execFileSync('umoci', ['unpack', '--image', `${layout}:img`, bundle], { stdio: 'pipe' });
    const rootfs = join(bundle, 'rootfs');
    if (mode === 'chroot') {
      // The second RUN wrote the very file the first one made, not a copy of it.
      assert.equal(readFileSync(join(rootfs, 'ino2'), 'utf8'), readFileSync(join(rootfs, 'ino1'), 'utf8'), 'the RUNs shared one directory');
    }
    trees.set(mode, treeOf(rootfs, new Set(['ino1', 'ino2'])));
  }
  const chroot = trees.get('chroot')!;
  assert.equal(chroot.get('data/one'), '600 0:0 one\nadded\n');
  assert.equal(chroot.get('data/added.txt'), '644 1000:1000 added\n');
  assert.equal(chroot.get('w/listing'), '644 0:0 added.txt\nlink\none\nv\n');
  assert.ok(!chroot.has('data/sub') && !chroot.has('bin/ls'));
  assert.deepEqual([...chroot].filter(([p, v]) => trees.get('oci')!.get(p) !== v), [], 'chroot and oci images differ');
  assert.deepEqual([...trees.get('oci')!.keys()].filter((p) => !chroot.has(p)), [], 'paths only the oci image has');

  // A rebuild where only the last RUN misses starts from the cached layers.
  const root = stores.get('chroot')!;
  ok('chroot', ['build', '--root', root, '-t', 'carry2', '--build-arg', 'V=2', join(work, 'carry-chroot')]);
  const layout = join(work, 'carry2-oci');
  ok('chroot', ['push', '--root', root, 'carry2', `oci:${layout}:img`]);
  execFileSync('umoci', ['unpack', '--image', `${layout}:img`, join(work, 'carry2-bundle')], { stdio: 'pipe' });
  const again = treeOf(join(work, 'carry2-bundle', 'rootfs'), new Set(['ino1', 'ino2']));
  assert.equal(again.get('data/v'), '644 0:0 v=2\n');
  assert.deepEqual([...again].filter(([p, v]) => p !== 'data/v' && chroot.get(p) !== v), []);

  // A step failing after a RUN leaves no directory behind either.
  const r = cli('chroot', ['build', '--root', root, context('carry-fail', 'FROM busybox\nRUN echo a > /a\nCOPY missing /x\n')]);
  assert.notEqual(r.status, 0);
  assert.deepEqual(readdirSync(join(root, 'tmp')), [], 'no temp dir left after a failure');
});

test('heredoc RUN forms: script, shebang, stdin to a command', () => {
  const cf = [
    'FROM busybox',
    'RUN <<EOF',
    'echo body $((1+2)) > /h1',
    'EOF',
    'RUN <<EOF',
    '#!/bin/sh',
    'echo shebang > /h2',
    'EOF',
    'RUN cat <<A > /h3 && cat <<B >> /h3',
    'one',
    'A',
    'two',
    'B',
    'RUN ["sh", "-c", "echo exec > /h4"]',
    '',
  ].join('\n');
  const { rootfs } = buildAndUnpack('oci', 'heredoc', cf);
  assert.equal(readFileSync(join(rootfs, 'h1'), 'utf8'), 'body 3\n');
  assert.equal(readFileSync(join(rootfs, 'h2'), 'utf8'), 'shebang\n');
  assert.equal(readFileSync(join(rootfs, 'h3'), 'utf8'), 'one\ntwo\n');
  assert.equal(readFileSync(join(rootfs, 'h4'), 'utf8'), 'exec\n');
  assert.ok(!existsSync(join(rootfs, 'run/tsbuild-pipes')), 'script mount point left no trace');
});

test('heredoc COPY bodies expand as in BuildKit (`\\$` escapes, quotes kept); RUN bodies are the shell\'s', () => {
  const cf = [
    'FROM busybox',
    'ARG V=argv',
    'ENV HOME_DIR=/root',
    'COPY <<EOF /s.sh',
    '#!/bin/sh',
    'echo "esc \\$HOME"',
    'echo "home $HOME_DIR"',
    "echo 'single $V'",
    'echo "${NOPE:-dflt}"',
    'EOF',
    'COPY <<"EOF" /raw.txt',
    'a: \\$V $V',
    'EOF',
    'COPY <<EOF /exp.txt',
    'a: \\$V $V',
    'EOF',
    'RUN sh /s.sh > /s.out',
    'RUN <<EOF',
    'echo "run \\$HOME $V" > /r.out',
    'EOF',
    '',
  ].join('\n');
  const { rootfs } = buildAndUnpack('oci', 'heredoc-copy', cf);
  assert.equal(readFileSync(join(rootfs, 's.sh'), 'utf8'), '#!/bin/sh\necho "esc $HOME"\necho "home /root"\necho \'single argv\'\necho "dflt"\n');
  assert.equal(readFileSync(join(rootfs, 's.out'), 'utf8'), 'esc /root\nhome /root\nsingle argv\ndflt\n', 'the copied script runs');
  assert.equal(readFileSync(join(rootfs, 'raw.txt'), 'utf8'), 'a: \\$V $V\n', 'a quoted delimiter: no expansion at all');
  assert.equal(readFileSync(join(rootfs, 'exp.txt'), 'utf8'), 'a: $V argv\n');
  assert.equal(readFileSync(join(rootfs, 'r.out'), 'utf8'), 'run $HOME argv\n', 'RUN heredocs reach the shell unexpanded');
});
