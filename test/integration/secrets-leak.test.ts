// Secrets never leak: the contents of --secret files and env secrets, the --creds password and
// the auth file's credentials are searched for (plain, base64 and hex) in every file of the store
// (blobs decompressed: layers, configs, history, manifests; images.json; build-cache entries and
// records), in every pushed registry file, in stdout/stderr of every command in each progress mode
// (plain, json events), in the --logfile, and in `inspect` output. Wrong-password errors too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TempDir, tsbuildAsync, type CliResult } from '../helpers/cli.js';
import { makeBusyboxImage, type BusyboxImage } from '../helpers/busybox-image.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { allFiles, inflate } from '../fuzz/hostile-kit.js';

const FILE_SECRET = `file-secret-${randomBytes(10).toString('hex')}`;
const ENV_SECRET = `env-secret-${randomBytes(10).toString('hex')}`;
const CREDS_PASSWORD = `creds-pw-${randomBytes(10).toString('hex')}`;
const AUTHFILE_PASSWORD = `authfile-pw-${randomBytes(10).toString('hex')}`;
const SECRETS = [FILE_SECRET, ENV_SECRET, CREDS_PASSWORD, AUTHFILE_PASSWORD];

/** Every form a secret might take on its way out. */
function needles(): { what: string; bytes: Buffer }[] {
  const out: { what: string; bytes: Buffer }[] = [];
  for (const s of SECRETS) {
    out.push({ what: s, bytes: Buffer.from(s) });
    out.push({ what: `${s} (hex)`, bytes: Buffer.from(Buffer.from(s).toString('hex')) });
    // base64 of the secret at the three alignments it can have inside "user:secret"-like strings.
    for (let pad = 0; pad < 3; pad++) {
      const b64 = Buffer.from('x'.repeat(pad) + s).toString('base64');
      out.push({ what: `${s} (base64/${pad})`, bytes: Buffer.from(b64.slice(Math.ceil((pad * 4) / 3) + 2, -4)) });
    }
  }
  return out;
}

function leaks(where: string, data: Buffer): string[] {
  return needles()
    .filter((n) => data.includes(n.bytes))
    .map((n) => `${n.what} in ${where}`);
}

let tmp: TempDir;
let busybox: BusyboxImage;
let reg: RegistryServer;
let root: string;
const outputs: { what: string; r: CliResult }[] = [];

async function run(what: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const r = await tsbuildAsync(args, { env });
  outputs.push({ what, r });
  return r;
}

before(async () => {
  tmp = new TempDir();
  busybox = makeBusyboxImage();
  root = tmp.dir('store');
  reg = await startRegistry({ auth: 'basic', users: { alice: CREDS_PASSWORD, bob: AUTHFILE_PASSWORD } });
});
after(async () => {
  await reg?.stop();
  busybox?.cleanup();
  tmp?.cleanup();
});

test('secrets, --creds and auth files appear in no layer, config, history, cache entry, log or output', { timeout: 600_000 }, async () => {
  const secretFile = tmp.file('secret.txt', FILE_SECRET);
  const authfile = tmp.file('auth.json', JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`bob:${AUTHFILE_PASSWORD}`).toString('base64') } } }));
  const ctx = tmp.dir('ctx');
  tmp.file('ctx/Containerfile', [
    'FROM busybox',
    'RUN --mount=type=secret,id=f test "$(cat /run/secrets/f | wc -c)" -gt 10 && cp /run/secrets/f /tmp/copy && rm /tmp/copy',
    'RUN --mount=type=secret,id=e,env=TOKEN test -n "$TOKEN" && echo "token length ${#TOKEN}"',
    'RUN --mount=type=secret,id=f,target=/etc/app.key,required=true wc -c /etc/app.key',
    'RUN --mount=type=secret,id=e sh -c \'test -s /run/secrets/e\'',
    'ARG PUBLIC=1',
    'RUN echo public $PUBLIC > /public.txt',
    '',
  ].join('\n'));
  const env = { ENV_SECRET_VAR: ENV_SECRET };
  const secretFlags = ['--secret', `id=f,src=${secretFile}`, '--secret', 'id=e,env=ENV_SECRET_VAR'];
  const ref = `${reg.host}/team/secret:1`;
  const reg_ = ['--tls-verify=false'];

  assert.equal((await run('pull', ['pull', '--root', root, `docker-archive:${busybox.dockerArchive}`])).status, 0);
  const logfile = join(tmp.path, 'build.log');
  for (const [i, progress] of [['plain'], ['json']].entries()) {
    const extra = i === 0 ? ['--logfile', logfile] : ['--no-cache'];
    const b = await run(`build --progress=${progress}`, ['build', '--root', root, `--progress=${progress}`, ...extra, ...secretFlags, '--creds', `alice:${CREDS_PASSWORD}`, '--authfile', authfile, ...reg_, '-t', 'secret-img', ctx], env);
    if (b.status !== 0 && /unknown option '--no-cache'/.test(b.stderr)) continue;
    assert.equal(b.status, 0, b.stderr);
  }
  assert.match(outputs.map((o) => o.r.stderr).join(''), /token length \d+/, 'the secret was really there');
  const push1 = await run('push --creds', ['push', '--root', root, '--creds', `alice:${CREDS_PASSWORD}`, ...reg_, 'secret-img', `docker://${ref}`]);
  assert.equal(push1.status, 0, push1.stderr);
  const push2 = await run('push --authfile', ['push', '--root', root, '--authfile', authfile, ...reg_, 'secret-img', `docker://${reg.host}/team/secret:2`]);
  assert.equal(push2.status, 0, push2.stderr);
  const pulled = tmp.dir('pulled');
  assert.equal((await run('pull --creds', ['pull', '--root', pulled, '--creds', `alice:${CREDS_PASSWORD}`, ...reg_, `docker://${ref}`])).status, 0);
  // A build that pushes, and errors that involve credentials, must not print them either.
  await run('build --push', ['build', '--root', root, ...secretFlags, '--creds', `alice:${CREDS_PASSWORD}`, ...reg_, '--push', '-t', `${reg.host}/team/secret:3`, ctx], env);
  const wrong = await run('push wrong password', ['push', '--root', root, '--creds', `alice:${CREDS_PASSWORD}x`, ...reg_, 'secret-img', `docker://${reg.host}/team/secret:4`]);
  assert.notEqual(wrong.status, 0);
  await run('inspect', ['inspect', '--root', root, 'secret-img']);
  await run('images', ['images', '--root', root]);

  const found: string[] = [];
  for (const { what, r } of outputs) found.push(...leaks(`${what} stdout`, Buffer.from(r.stdout)), ...leaks(`${what} stderr`, Buffer.from(r.stderr)));
  found.push(...leaks('the --logfile', readFileSync(logfile)));
  for (const dir of [root, pulled, reg.dir]) {
    for (const f of allFiles(dir)) {
      let data: Buffer = readFileSync(f);
      try {
        data = inflate(data);
      } catch {
        /* not compressed after all */
      }
      found.push(...leaks(f, data));
    }
  }
  assert.deepEqual(found, []);
  writeFileSync(join(tmp.path, 'checked'), String(outputs.length));
});
