// Ported from moby/patternmatcher's patternmatcher_test.go (TestMatches, TestMatch, the
// exclusion cases), checked through IgnoreMatcher (MatchesOrParentMatches semantics).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IgnoreMatcher } from '../../builder/context/ignore.js';
import { goMatch, BadPatternError } from '../../builder/context/glob.js';

const m = (patterns: string[], file: string) => new IgnoreMatcher(patterns).ignores(file);

test('simple matches and exclusions (moby TestWildcardMatches etc.)', () => {
  assert.equal(m(['*'], 'fileutils.go'), true);
  assert.equal(m(['*.go'], 'fileutils.go'), true);
  assert.equal(m(['!fileutils.go', '*.go'], 'fileutils.go'), true);
  assert.equal(m(['docs', '!docs/README.md'], 'docs/README.md'), false);
  assert.equal(m(['docs/', '!docs/README.md'], 'docs/README.md'), false);
  assert.equal(m(['docs/*', '!docs/README.md'], 'docs/README.md'), false);
  assert.equal(m(['*.go', '!fileutils.go'], 'fileutils.go'), false);
  assert.equal(m(['*.go'], '.'), false);
  assert.equal(m([], '/any/path/there'), false);
  assert.throws(() => new IgnoreMatcher(['!']), BadPatternError);
  assert.throws(() => new IgnoreMatcher(['[']), BadPatternError);
  assert.equal(new IgnoreMatcher(['docs', 'config', '']).patterns.length, 2);
  assert.equal(new IgnoreMatcher(['docs', '  !docs/README.md']).hasExclusions, true);
  assert.equal(new IgnoreMatcher(['docs', '!docs/README.md  ']).hasExclusions, true);
});

// [pattern, text, 'exact' | 'inexact' | 'fail'] — inexact = matches only via a parent directory.
const cases: [string, string, 'exact' | 'inexact' | 'fail'][] = [
  ['**', 'file', 'exact'], ['**', 'file/', 'exact'], ['**/', 'file', 'exact'], ['**/', 'file/', 'exact'],
  ['**', '/', 'exact'], ['**/', '/', 'exact'], ['**', 'dir/file', 'exact'], ['**/', 'dir/file', 'exact'],
  ['**', 'dir/file/', 'exact'], ['**/', 'dir/file/', 'exact'], ['**/**', 'dir/file', 'exact'], ['**/**', 'dir/file/', 'exact'],
  ['dir/**', 'dir/file', 'exact'], ['dir/**', 'dir/file/', 'exact'], ['dir/**', 'dir/dir2/file', 'exact'], ['dir/**', 'dir/dir2/file/', 'exact'],
  ['**/dir', 'dir', 'exact'], ['**/dir', 'dir/file', 'inexact'], ['**/dir2/*', 'dir/dir2/file', 'exact'], ['**/dir2/*', 'dir/dir2/file/', 'inexact'],
  ['**/dir2/**', 'dir/dir2/dir3/file', 'exact'], ['**/dir2/**', 'dir/dir2/dir3/file/', 'exact'],
  ['**file', 'file', 'exact'], ['**file', 'dir/file', 'exact'], ['**/file', 'dir/file', 'exact'], ['**file', 'dir/dir/file', 'exact'],
  ['**/file', 'dir/dir/file', 'exact'], ['**/file*', 'dir/dir/file', 'exact'], ['**/file*', 'dir/dir/file.txt', 'exact'],
  ['**/file*txt', 'dir/dir/file.txt', 'exact'], ['**/file*.txt', 'dir/dir/file.txt', 'exact'], ['**/file*.txt*', 'dir/dir/file.txt', 'exact'],
  ['**/**/*.txt', 'dir/dir/file.txt', 'exact'], ['**/**/*.txt2', 'dir/dir/file.txt', 'fail'], ['**/*.txt', 'file.txt', 'exact'],
  ['**/**/*.txt', 'file.txt', 'exact'], ['a**/*.txt', 'a/file.txt', 'exact'], ['a**/*.txt', 'a/dir/file.txt', 'exact'],
  ['a**/*.txt', 'a/dir/dir/file.txt', 'exact'], ['a/*.txt', 'a/dir/file.txt', 'fail'], ['a/*.txt', 'a/file.txt', 'exact'],
  ['a/*.txt**', 'a/file.txt', 'exact'], ['a[b-d]e', 'ae', 'fail'], ['a[b-d]e', 'ace', 'exact'], ['a[b-d]e', 'aae', 'fail'],
  ['a[^b-d]e', 'aze', 'exact'], ['.*', '.foo', 'exact'], ['.*', 'foo', 'fail'], ['abc.def', 'abcdef', 'fail'],
  ['abc.def', 'abc.def', 'exact'], ['abc.def', 'abcZdef', 'fail'], ['abc?def', 'abcZdef', 'exact'], ['abc?def', 'abcdef', 'fail'],
  ['**/foo/bar', 'foo/bar', 'exact'], ['**/foo/bar', 'dir/foo/bar', 'exact'], ['**/foo/bar', 'dir/dir2/foo/bar', 'exact'],
  ['abc/**', 'abc', 'fail'], ['abc/**', 'abc/def', 'exact'], ['abc/**', 'abc/def/ghi', 'exact'], ['**/.foo', '.foo', 'exact'],
  ['**/.foo', 'bar.foo', 'fail'], ['a(b)c/def', 'a(b)c/def', 'exact'], ['a(b)c/def', 'a(b)c/xyz', 'fail'],
  ['a.|)$(}+{bc', 'a.|)$(}+{bc', 'exact'],
  ['dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'exact'],
  ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'exact'],
  ['a\\\\', 'a\\', 'exact'], ['a\\*b', 'a*b', 'exact'],
];

test('moby TestMatches single patterns (MatchesOrParentMatches)', () => {
  for (const [pattern, text, pass] of cases) {
    assert.equal(m([pattern], text), pass !== 'fail', `pattern=${pattern} text=${text}`);
  }
});

test('moby TestMatches multi-pattern cases', () => {
  assert.equal(m(['**', '!util/docker/web'], 'util/docker/web/foo'), false);
  assert.equal(m(['**', '!util/docker/web', 'util/docker/web/foo'], 'util/docker/web/foo'), true);
  assert.equal(m(['**', '!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl'], 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl'), false);
  assert.equal(m(['**', '!dist/*.whl'], 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl'), false);
});

// Go's filepath.Match tests as run by moby's TestMatch (through Matches: parent dirs count too).
const goCases: [string, string, boolean, boolean][] = [
  ['abc', 'abc', true, false], ['*', 'abc', true, false], ['*c', 'abc', true, false], ['a*', 'a', true, false],
  ['a*', 'abc', true, false], ['a*', 'ab/c', true, false], ['a*/b', 'abc/b', true, false], ['a*/b', 'a/c/b', false, false],
  ['a*b*c*d*e*/f', 'axbxcxdxe/f', true, false], ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true, false],
  ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false, false], ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false, false],
  ['a*b?c*x', 'abxbbxdbxebxczzx', true, false], ['a*b?c*x', 'abxbbxdbxebxczzy', false, false],
  ['ab[c]', 'abc', true, false], ['ab[b-d]', 'abc', true, false], ['ab[e-g]', 'abc', false, false], ['ab[^c]', 'abc', false, false],
  ['ab[^b-d]', 'abc', false, false], ['ab[^e-g]', 'abc', true, false], ['a\\*b', 'a*b', true, false], ['a\\*b', 'ab', false, false],
  ['a?b', 'a☺b', true, false], ['a[^a]b', 'a☺b', true, false], ['a???b', 'a☺b', false, false], ['a[^a][^a][^a]b', 'a☺b', false, false],
  ['[a-ζ]*', 'α', true, false], ['*[a-ζ]', 'A', false, false], ['a?b', 'a/b', false, false], ['a*b', 'a/b', false, false],
  ['[\\]a]', ']', true, false], ['[\\-]', '-', true, false], ['[x\\-]', 'x', true, false], ['[x\\-]', '-', true, false],
  ['[x\\-]', 'z', false, false], ['[\\-x]', 'x', true, false], ['[\\-x]', '-', true, false], ['[\\-x]', 'a', false, false],
  ['[]a]', ']', false, true], ['[-]', '-', false, true], ['[x-]', 'x', false, true], ['[x-]', '-', false, true],
  ['[x-]', 'z', false, true], ['[-x]', 'x', false, true], ['[-x]', '-', false, true], ['[-x]', 'a', false, true],
  ['\\', 'a', false, true], ['[a-b-c]', 'a', false, true], ['[', 'a', false, true], ['[^', 'a', false, true],
  ['[^bc', 'a', false, true], ['a[', 'a', false, true], ['a[', 'ab', false, true], ['*x', 'xxx', true, false],
];

test('Go filepath.Match cases through the ignore matcher (moby TestMatch)', () => {
  for (const [pattern, s, match, bad] of goCases) {
    if (bad) {
      assert.throws(() => new IgnoreMatcher([pattern]), BadPatternError, `pattern=${pattern}`);
      continue;
    }
    assert.equal(m([pattern], s), match, `pattern=${pattern} s=${s}`);
  }
});

test('goMatch is filepath.Match (no parent matching)', () => {
  assert.equal(goMatch('a*', 'ab/c'), false);
  assert.equal(goMatch('*/b', 'a/b'), true);
  assert.equal(goMatch('[\\]a]', ']'), true);
  assert.throws(() => goMatch('a[', 'x'), BadPatternError);
});

test('mayReinclude says when an excluded directory must be walked', () => {
  const im = new IgnoreMatcher(['docs', '!docs/keep.md', 'build', '!**/*.keep', 'vendor', '!other/x']);
  assert.equal(im.mayReinclude('docs'), true);
  assert.equal(im.mayReinclude('vendor'), true); // '**' in an exception could match anywhere
  const im2 = new IgnoreMatcher(['vendor', 'docs', '!docs/keep.md', '!*/sub/x']);
  assert.equal(im2.mayReinclude('docs'), true);
  assert.equal(im2.mayReinclude('vendor'), true); // '*/sub/x' can match vendor/sub/x
  assert.equal(im2.mayReinclude('vendor/other'), false);
  assert.equal(new IgnoreMatcher(['vendor']).mayReinclude('vendor'), false);
  assert.equal(new IgnoreMatcher(['vendor', '!docs/a']).mayReinclude('vendor'), false);
});
