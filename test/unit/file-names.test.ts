import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { scanDir } from '../../cache/layers.js';
import { fingerprint } from '../../cache/tree-diff.js';
import { UserError } from '../../oci/errors.js';
import { undecodableNames } from '../../oci/file-names.js';

describe('file names that are not UTF-8', () => {
  const root = mkdtempSync(join(tmpdir(), 'tsbuild-names-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const latin1 = (dir: string, name: string) => writeFileSync(Buffer.concat([Buffer.from(dir + '/'), Buffer.from(name, 'latin1')]), 'x');

  it('are found with their bytes escaped; a name that really holds U+FFFD is not one of them', () => {
    const dir = join(root, 'mixed');
    mkdirSync(dir);
    latin1(dir, 'caf\xe9\\');
    writeFileSync(join(dir, 'real-\uFFFD'), 'x');
    writeFileSync(join(dir, 'plain'), 'x');
    const bad = undecodableNames(dir, readdirSync(dir));
    assert.deepEqual([...bad.values()], ['caf\\xe9\\x5c']);
    assert.equal(bad.get('caf\uFFFD\\'), 'caf\\xe9\\x5c', 'keyed by the name readdir gives');
    const clean = join(root, 'clean');
    mkdirSync(clean);
    writeFileSync(join(clean, 'real-\uFFFD'), 'x');
    assert.equal(undecodableNames(clean, readdirSync(clean)).size, 0, 'a U+FFFD that is on disk as UTF-8 is a good name');
  });

  it('stop a layer scan and a chroot fingerprint with the path, instead of an lstat of a name that is not there', async () => {
    const tree = join(root, 'tree');
    mkdirSync(join(tree, 'd'), { recursive: true });
    latin1(join(tree, 'd'), 'caf\xe9');
    await assert.rejects(scanDir(tree, {}), (e: unknown) => e instanceof UserError && e.message === 'a file name that is not UTF-8: "/d/caf\\xe9"');
    assert.throws(() => fingerprint(tree), (e: unknown) => e instanceof UserError && /"\/d\/caf\\xe9"/.test(e.message));
  });
});
