// The user-namespace worker (cache/userns.ts) is one process per tsbuild process: several requests,
// a failing one among them, are answered by the same worker, and it is gone when the process ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/busybox-image.js';
import { chownTree, ensureTestUser, tempDir } from '../helpers/native-rootfs.js';

test('one worker answers every request of a process and exits with it', (t) => {
  const user = ensureTestUser();
  if (!user.subids) return t.skip('the test user has no subordinate id ranges');
  const dir = tempDir('tsbuild-userns-', user);
  for (const n of ['a', 'b']) mkdirSync(join(dir, n));
  const script = join(dir, 'script.mjs');
  writeFileSync(script, `
import { readdirSync, readFileSync } from 'node:fs';
import { inUserns } from ${JSON.stringify(join(REPO_ROOT, 'dist/cache/userns.js'))};
const workers = () => readdirSync('/proc').filter((p) => /^\\d+$/.test(p)).filter((p) => {
  try { return readFileSync('/proc/' + p + '/cmdline', 'latin1').includes('userns-worker') && readFileSync('/proc/' + p + '/status', 'utf8').includes('PPid:\\t' + process.pid + '\\n'); } catch { return false; }
});
const seen = new Set();
await inUserns({ op: 'rm', paths: [${JSON.stringify(join(dir, 'a'))}] });
workers().forEach((p) => seen.add(p));
const failed = await inUserns({ op: 'unpack', blob: '/nonexistent/blob', mediaType: 'application/vnd.oci.image.layer.v1.tar', dest: ${JSON.stringify(dir)} }).then(() => 'no error', (e) => e.message);
workers().forEach((p) => seen.add(p));
await inUserns({ op: 'rm', paths: [${JSON.stringify(join(dir, 'b'))}] });
workers().forEach((p) => seen.add(p));
console.log(JSON.stringify({ workers: [...seen], failed }));
`);
  chownTree(dir, user.uid, user.gid);
  const r = spawnSync('runuser', ['-u', user.name, '--', process.execPath, script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { workers: string[]; failed: string };
  assert.equal(out.workers.length, 1, 'one worker process for all requests: ' + r.stdout);
  assert.match(out.failed, /user namespace unpack failed: .*ENOENT/);
  assert.ok(!existsSync(join(dir, 'a')) && !existsSync(join(dir, 'b')), 'both removals done');
  assert.ok(!existsSync(`/proc/${out.workers[0]}`), 'the worker exited with its process');
  spawnSync('rm', ['-rf', dir]);
});
