// `tsbuild check-store` finds what it claims to: a flipped byte in a blob, a missing layer, a
// snapshot whose meta lies, a half-written cache entry, and a corrupt images.json each give a
// `corrupt:` line and exit 1; a whole store gives no line and exit 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TempDir, tsbuild, tsbuildOk } from '../helpers/cli.js';

function fresh(tmp: TempDir, name: string, template: string): string {
  const root = join(tmp.path, name);
  cpSync(template, root, { recursive: true, verbatimSymlinks: true });
  return root;
}

function check(root: string): { status: number; lines: string[] } {
  const r = tsbuild(['check-store', '--root', root]);
  return { status: r.status, lines: r.stdout.split('\n').filter(Boolean) };
}

test('check-store reports each kind of corruption and passes a whole store', () => {
  const tmp = new TempDir();
  try {
    const template = tmp.dir('template');
    tmp.file('ctx/a.txt', 'alpha\n'.repeat(1000));
    tmp.file('ctx/Containerfile', 'FROM scratch\nCOPY a.txt /a.txt\nCOPY Containerfile /c\n');
    tsbuildOk(['build', '--root', template, '-t', 'img', join(tmp.path, 'ctx')]);
    tsbuildOk(['push', '--root', template, 'img', `oci:${join(tmp.path, 'layout')}:x`]);
    tsbuildOk(['pull', '--root', template, `oci:${join(tmp.path, 'layout')}:x`]);
    assert.deepEqual(check(template), { status: 0, lines: [] });

    const layout = JSON.parse(readFileSync(join(tmp.path, 'layout/index.json'), 'utf8'));
    const manifest = JSON.parse(readFileSync(join(tmp.path, 'layout/blobs/sha256', layout.manifests[0].digest.slice(7)), 'utf8'));
    const layer = manifest.layers[0].digest.slice(7) as string;

    const flipped = fresh(tmp, 'flipped', template);
    const p = join(flipped, 'blobs/sha256', layer);
    const b = readFileSync(p);
    b[b.length >> 1] ^= 0xff;
    writeFileSync(p, b);
    const f = check(flipped);
    assert.equal(f.status, 1);
    assert.ok(f.lines.some((l) => l.startsWith('corrupt: ') && l.includes(layer) && l.includes('hashes to')), f.lines.join('\n'));

    const missing = fresh(tmp, 'missing', template);
    rmSync(join(missing, 'blobs/sha256', layer));
    const m = check(missing);
    assert.equal(m.status, 1);
    assert.ok(m.lines.some((l) => l.includes(`sha256:${layer} is missing`)), m.lines.join('\n'));

    const stray = fresh(tmp, 'stray', template);
    writeFileSync(join(stray, 'blobs/sha256', 'half-written'), 'x');
    assert.equal(check(stray).status, 1);

    const badImages = fresh(tmp, 'bad-images', template);
    writeFileSync(join(badImages, 'images.json'), '{"version":1,"images":[');
    const bi = check(badImages);
    assert.equal(bi.status, 1);
    assert.ok(bi.lines.some((l) => l.includes('images.json')), bi.lines.join('\n'));

    const snaps = fresh(tmp, 'snaps', template);
    mkdirSync(join(snaps, 'snapshots'), { recursive: true });
    const fakeChain = 'a'.repeat(64);
    mkdirSync(join(snaps, 'snapshots', fakeChain, 'fs'), { recursive: true });
    writeFileSync(join(snaps, 'snapshots', fakeChain, 'meta.json'), JSON.stringify({ diffID: 'sha256:' + 'b'.repeat(64), parent: null }));
    const s = check(snaps);
    assert.equal(s.status, 1);
    assert.ok(s.lines.some((l) => l.includes('chain ID')), s.lines.join('\n'));

    const cache = fresh(tmp, 'cache', template);
    const entries = join(cache, 'cache/entries');
    mkdirSync(entries, { recursive: true });
    writeFileSync(join(entries, 'c'.repeat(64) + '.json'), '{"version":1,');
    assert.equal(check(cache).status, 1);
    assert.ok(readdirSync(template).length > 0);
  } finally {
    tmp.cleanup();
  }
});
