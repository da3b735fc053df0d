import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, lstatSync, symlinkSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  nativeAvailable,
  mknod,
  lgetxattr,
  lsetxattr,
  llistxattr,
  lremovexattr,
} from '../../native/index.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'tsbuild-native-fs-'));
}

test('addon loads', () => {
  assert.equal(nativeAvailable(), true);
});

test('mknod creates a 0/0 whiteout char device', { skip: process.getuid?.() !== 0 && 'needs root' }, () => {
  const d = tmp();
  try {
    const p = join(d, 'wh');
    mknod(p, constants.S_IFCHR | 0o000, 0, 0);
    const st = lstatSync(p);
    assert.ok(st.isCharacterDevice());
    assert.equal(st.rdev, 0);
    assert.equal(st.mode & 0o777, 0);
    mknod(join(d, 'null'), constants.S_IFCHR | 0o666, 1, 3);
    const st2 = lstatSync(join(d, 'null'));
    assert.equal(st2.rdev, (1 << 8) | 3);
    mknod(join(d, 'fifo'), constants.S_IFIFO | 0o644, 0, 0);
    assert.ok(lstatSync(join(d, 'fifo')).isFIFO());
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('mknod errors carry code and syscall', () => {
  const d = tmp();
  try {
    writeFileSync(join(d, 'f'), '');
    assert.throws(() => mknod(join(d, 'f'), constants.S_IFIFO | 0o644, 0, 0), (e: NodeJS.ErrnoException) => {
      assert.equal(e.code, 'EEXIST');
      assert.equal(e.syscall, 'mknod');
      assert.equal(e.path, join(d, 'f'));
      assert.equal(e.errno, -17);
      return true;
    });
    assert.throws(() => mknod(join(d, 'no', 'x'), constants.S_IFIFO, 0, 0), { code: 'ENOENT', syscall: 'mknod' });
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('xattr round trip on files and symlinks (l* variants do not follow)', () => {
  const d = tmp();
  try {
    const f = join(d, 'f');
    writeFileSync(f, 'x');
    assert.equal(lgetxattr(f, 'user.tsbuild.none'), undefined);
    lsetxattr(f, 'user.tsbuild.a', Buffer.from('hello'));
    lsetxattr(f, 'user.tsbuild.empty', Buffer.alloc(0));
    const big = Buffer.alloc(3000, 7);
    lsetxattr(f, 'user.tsbuild.big', big);
    assert.deepEqual(lgetxattr(f, 'user.tsbuild.a'), Buffer.from('hello'));
    assert.deepEqual(lgetxattr(f, 'user.tsbuild.empty'), Buffer.alloc(0));
    assert.deepEqual(lgetxattr(f, 'user.tsbuild.big'), big);
    const names = llistxattr(f).filter((n) => n.startsWith('user.tsbuild.')).sort();
    assert.deepEqual(names, ['user.tsbuild.a', 'user.tsbuild.big', 'user.tsbuild.empty']);
    lremovexattr(f, 'user.tsbuild.a');
    assert.equal(lgetxattr(f, 'user.tsbuild.a'), undefined);
    assert.throws(() => lremovexattr(f, 'user.tsbuild.a'), { code: 'ENODATA', syscall: 'lremovexattr' });

    if (process.getuid?.() === 0) {
      // trusted.* (overlay's opaque marker) needs CAP_SYS_ADMIN
      lsetxattr(f, 'trusted.overlay.opaque', Buffer.from('y'));
      assert.deepEqual(lgetxattr(f, 'trusted.overlay.opaque'), Buffer.from('y'));
      assert.ok(llistxattr(f).includes('trusted.overlay.opaque'));
    }

    const l = join(d, 'link');
    symlinkSync('f', l);
    assert.ok(!llistxattr(l).includes('user.tsbuild.big'));
    assert.equal(lgetxattr(l, 'user.tsbuild.big'), undefined);
    assert.throws(() => lgetxattr(join(d, 'missing'), 'user.x'), { code: 'ENOENT', syscall: 'lgetxattr' });
    assert.throws(() => llistxattr(join(d, 'missing')), { code: 'ENOENT', syscall: 'llistxattr' });
    assert.throws(() => lsetxattr(join(d, 'missing'), 'user.x', Buffer.from('1')), {
      code: 'ENOENT',
      syscall: 'lsetxattr',
    });
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('argument validation', () => {
  // @ts-expect-error wrong type on purpose
  assert.throws(() => lgetxattr(1, 'user.x'), TypeError);
  assert.throws(() => mknod('/tmp/x', -1, 0, 0), RangeError);
  assert.throws(() => lsetxattr('/tmp/x', 'user.x', 'str' as unknown as Buffer), TypeError);
});
