// Cases ported from BuildKit's frontend/dockerfile/shell envVarTest, wordsTest and lex_test.go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandWord, expandWords, lookupFrom } from '../../builder/containerfile/index.js';
import { UserError } from '../../oci/errors.js';

const env = lookupFrom({ PWD: '/home', SHELL: 'bash', KOREAN: '한국어', NULL: '' });

// [input, expected] — expected null means "must be an error".
const envVarCases: [string, string | null][] = [
  ['hello', 'hello'],
  ["he'll'o", 'hello'],
  ["he'llo", null],
  ["he\\'llo", "he'llo"],
  ["he\\\\'llo", null],
  ['abc\\tdef', 'abctdef'],
  ['"abc\\tdef"', 'abc\\tdef'],
  ['"abc\\\\tdef"', 'abc\\tdef'],
  ["'abc\\tdef'", 'abc\\tdef'],
  ['hello\\', 'hello'],
  ['hello\\\\', 'hello\\'],
  ['"hello', null],
  ['"hello\\"', null],
  ['"hel\'lo"', "hel'lo"],
  ["'hello", null],
  ["'hello\\'", 'hello\\'],
  ["'hello\\there'", 'hello\\there'],
  ["'hello\\\\there'", 'hello\\\\there'],
  ['"\'\'"', "''"],
  ['$.', '$.'],
  ['$1', ''],
  ['he$1x', 'hex'],
  ['he$.x', 'he$.x'],
  ['he$pwd.', 'he.'],
  ['he$PWD', 'he/home'],
  ['he\\$PWD', 'he$PWD'],
  ['he\\\\$PWD', 'he\\/home'],
  ['"he\\$PWD"', 'he$PWD'],
  ['"he\\\\$PWD"', 'he\\/home'],
  ['\\${}', '${}'],
  ['\\${}aaa', '${}aaa'],
  ['he\\${}', 'he${}'],
  ['he\\${}xx', 'he${}xx'],
  ['${}', null],
  ['${}aaa', null],
  ['he${}', null],
  ['he${}xx', null],
  ['he${hi}', 'he'],
  ['he${hi}xx', 'hexx'],
  ['he${PWD}', 'he/home'],
  ['he${.}', null],
  ['he${XXX:-000}xx', 'he000xx'],
  ['he${PWD:-000}xx', 'he/homexx'],
  ['he${XXX:-$PWD}xx', 'he/homexx'],
  ['he${XXX:-${PWD:-yyy}}xx', 'he/homexx'],
  ['he${XXX:-${YYY:-yyy}}xx', 'heyyyxx'],
  ['he${XXX:YYY}', null],
  ['he${XXX:+${PWD}}xx', 'hexx'],
  ['he${PWD:+${XXX}}xx', 'hexx'],
  ['he${PWD:+${SHELL}}xx', 'hebashxx'],
  ['he${XXX:+000}xx', 'hexx'],
  ['he${PWD:+000}xx', 'he000xx'],
  ["'he${XX}'", 'he${XX}'],
  ['"he${PWD}"', 'he/home'],
  ['"he\'$PWD\'"', "he'/home'"],
  ['"$PWD"', '/home'],
  ["'$PWD'", '$PWD'],
  ["'\\$PWD'", '\\$PWD'],
  ['\'"hello"\'', '"hello"'],
  ["'he\\$PWD'", 'he\\$PWD'],
  ['he${PWD', null],
  ['he${PWD:=000}xx', null],
  ['he${PWD:+${PWD}:}xx', 'he/home:xx'],
  ['he${XXX:-\\$PWD:}xx', 'he$PWD:xx'],
  ['he${XXX:-\\${PWD}z}xx', 'he${PWDz}xx'],
  ['안녕하세요', '안녕하세요'],
  ["안'녕'하세요", '안녕하세요'],
  ["안'녕하세요", null],
  ["안녕\\'하세요", "안녕'하세요"],
  ['안녕\\t하세요', '안녕t하세요'],
  ['"안녕\\t하세요"', '안녕\\t하세요'],
  ['안녕$1x', '안녕x'],
  ['안녕${PWD:+${SHELL}}xx', '안녕bashxx'],
  ['$KOREAN', '한국어'],
  ['안녕$KOREAN', '안녕한국어'],
  ['${{aaa}', null],
  ['${aaa}}', '}'],
  ['${aaa', null],
  ['${{aaa:-bbb}', null],
  ['${aaa:-bbb}}', 'bbb}'],
  ['${aaa:-bbb', null],
  ['${aaa:-bbb}', 'bbb'],
  ['${aaa:-${bbb:-ccc}}', 'ccc'],
  ['${aaa:-bbb ${foo}', null],
  ['${aaa:-bbb {foo}', 'bbb {foo'],
  ['${:}', null],
  ['${:-bbb}', null],
  ['${:+bbb}', null],
  // Set-but-empty vs unset (BuildKit's NULL= cases).
  ['he${NULL-000}xx', 'hexx'],
  ['he${NULL:-000}xx', 'he000xx'],
  ['he${XXX-000}xx', 'he000xx'],
  ['he${NULL+000}xx', 'he000xx'],
  ['he${NULL:+000}xx', 'hexx'],
  ['he${XXX+000}xx', 'hexx'],
];

test('expandWord: BuildKit envVarTest cases', () => {
  for (const [input, expected] of envVarCases) {
    if (expected === null) {
      assert.throws(() => expandWord(input, env), UserError, `expected an error for ${JSON.stringify(input)}`);
    } else {
      assert.equal(expandWord(input, env), expected, `input ${JSON.stringify(input)}`);
    }
  }
});

test('expandWords: BuildKit wordsTest cases', () => {
  const scope: Record<string, string> = {};
  const look = lookupFrom(scope);
  const cases: [string, string[] | null, Record<string, string>?][] = [
    ['hello', ['hello']],
    ['hello${hi}bye', ['hellobye']],
    ['hello${hi}bye', ['hellohibye'], { hi: 'hi' }],
    ['hello${space}bye', ['helloabc', 'defbye'], { space: 'abc  def' }],
    ['hello"${space}"bye', ['helloabc  defbye']],
    ['hello "${space}"bye', ['hello', 'abc  defbye']],
    ['hello${leading}def', ['hello', 'ab', 'cdef'], { leading: '  ab c' }],
    ['hello"${leading}" def', ['hello  ab c', 'def']],
    ['hello"${leading}"', ['hello  ab c']],
    ['hello${leading}', ['hello', 'ab', 'c']],
    ['hello${trailing}', ['helloab', 'c'], { trailing: 'ab c   ' }],
    ['hello${trailing}d', ['helloab', 'c', 'd']],
    ['hello"${trailing}"d', ['helloab c   d']],
    ['hel"lo${trailing}"', ['helloab c   ']],
    ['hello" there  "', ['hello there  ']],
    ['hello there     ', ['hello', 'there']],
    ['hello\\ there', ['hello there']],
    ['hello" there', null],
    ['hello\\" there', ['hello"', 'there']],
    ['hello"\\\\there"', ['hello\\there']],
    ['hello"\\there"', ['hello\\there']],
    ["hello'\\\\there'", ['hello\\\\there']],
    ["hello'\\there'", ['hello\\there']],
    ["hello'$there'", ['hello$there']],
    ['"" a ""', ['a']],
  ];
  for (const [input, expected, add] of cases) {
    Object.assign(scope, add ?? {});
    if (expected === null) assert.throws(() => expandWords(input, look), UserError, input);
    else assert.deepEqual(expandWords(input, look), expected, `input ${JSON.stringify(input)}`);
  }
});

test('${v?msg} and ${v:?msg} (TestShellParserMandatoryEnvVars)', () => {
  const set = lookupFrom({ VAR: 'plain', ARG: 'x' });
  const empty = lookupFrom({ VAR: '', ARG: 'x' });
  const unset = lookupFrom({ ARG: 'x' });
  assert.equal(expandWord('${VAR:?message here$ARG}', set), 'plain');
  assert.throws(() => expandWord('${VAR:?message here$ARG}', empty), /message herex/);
  assert.throws(() => expandWord('${VAR:?message here$ARG}', unset), /message herex/);
  assert.equal(expandWord('${VAR?message here$ARG}', set), 'plain');
  assert.equal(expandWord('${VAR?message here$ARG}', empty), '');
  assert.throws(() => expandWord('${VAR?message here$ARG}', unset), /message herex/);
  assert.throws(() => expandWord('${VAR:?}', unset), /VAR: is not allowed to be unset/);
  assert.throws(() => expandWord('${VAR:?}', empty), /VAR: is not allowed to be empty/);
});

test('modifiers, pattern removal and replacement (TestProcessWithMatches)', () => {
  const cases: [string, Record<string, string>, string | null][] = [
    ['${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}', { FOO: 'xxx', BAR: '' }, 'xxx  ccc'],
    ['${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}', { FOO: 'xxx', BAR: '' }, 'xxx bbb ccc'],
    ['${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}', { FOO: 'xxx', BAR: '' }, 'aaa bbb '],
    ['${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}', { FOO: 'xxx', BAR: '' }, 'aaa  '],
    ['${FOO:-}', {}, ''],
    ['${BAR?bbb}', { BAR: '' }, ''],
    ['${BAZ?ccc}', {}, null],
    ['${BAR:?bbb}', { BAR: '' }, null],
    ['${FOO=aaa}', { FOO: 'xxx' }, null],
    ['${FOO=:aaa}', { FOO: 'xxx' }, null],
    ['${FOO=}', {}, null],
    ['${FOO#()[]{\\}^$.\\*\\?|\\\\}', { FOO: '()[]{}^$.*?|\\x' }, 'x'],
    ['${FOO%%\\**}', { FOO: 'xx**' }, 'xx'],
    ['${FOO#*x*y}', { FOO: 'xxyy' }, 'y'],
    ['${FOO#*}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO#$BAR}', { FOO: 'xxyy', BAR: 'x' }, 'xyy'],
    ['${FOO#$BAR}', { FOO: 'xxyy', BAR: '' }, 'xxyy'],
    ['${FOO#}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO##*x}', { FOO: 'xxyy' }, 'yy'],
    ['${FOO##}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO#?\\?}', { FOO: '???y' }, '?y'],
    ['${ABC:-.}${FOO%x}${ABC:-.}', { FOO: 'xxyy' }, '.xxyy.'],
    ['${FOO%%\\**\\*}', { FOO: 'a***yy*' }, 'a'],
    ['${FOO%}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO%y}', { FOO: 'xxyy' }, 'xxy'],
    ['${FOO%%y*}', { FOO: 'xxyy' }, 'xx'],
    ['${FOO%y*}', { FOO: 'xxyy' }, 'xxy'],
    ['${FOO%%$BAR}', { FOO: 'xxyy', BAR: '' }, 'xxyy'],
    ['${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}', { FOO: '/foo*/*/*.txt', NEEDLE: '\\*/' }, '/foo.*/*.txt - /foo..*.txt'],
    ['${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}', { FOO: '/tmp/tmp/bar.txt', NEEDLE: '/tmp' }, '/tmp/bar.txt - /bar.txt'],
    ['${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}', { FOO: '/a/foo/b/c.txt', NEEDLE: '/?/', REPLACEMENT: '/' }, '/foo/b/c.txt - /foo/c.txt'],
    ['${FOO/$NEEDLE/$REPLACEMENT}', { FOO: 'http://google.de', NEEDLE: 'http://', REPLACEMENT: 'https://' }, 'https://google.de'],
    ['${FOO//\\//\\/}', { FOO: '/tmp/foo.txt' }, '\\/tmp\\/foo.txt'],
    ['${FOO/$BAR/ww}', { FOO: 'xxyy', BAR: '' }, 'wwxxyy'],
    ['${FOO//ww}', { FOO: 'xxyy' }, null],
    ['${FOO//}', { FOO: 'xxyy' }, null],
    ['${FOO///}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO///}', {}, ''],
    ['${FOO#\\x}', { FOO: 'xy' }, null], // invalid escape in a pattern
  ];
  for (const [input, vars, expected] of cases) {
    const look = lookupFrom(vars);
    if (expected === null) assert.throws(() => expandWord(input, look), UserError, input);
    else assert.equal(expandWord(input, look), expected, `input ${JSON.stringify(input)} with ${JSON.stringify(vars)}`);
  }
});

test('platform-style release name (TestProcessWithMatchesPlatform)', () => {
  const word = 'something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz';
  const base = { VERSION: 'v1.2.3', TARGETOS: 'linux', TARGETARCH: 'arm' };
  assert.equal(expandWord(word, lookupFrom({ ...base, TARGETVARIANT: 'v7' })), 'something-v1.2.3.linux-arm-v7.tar.gz');
  assert.equal(expandWord(word, lookupFrom({ ...base, TARGETVARIANT: '' })), 'something-v1.2.3.linux-arm.tar.gz');
  assert.equal(expandWord(word, lookupFrom(base)), 'something-v1.2.3.linux-arm.tar.gz');
});

test('backtick escape: backslash becomes literal, backtick escapes', () => {
  const look = lookupFrom({ V: 'x' });
  assert.equal(expandWord('C:\\dir\\$V', look, '`'), 'C:\\dir\\x');
  assert.equal(expandWord('`$V', look, '`'), '$V');
  assert.equal(expandWord('"a`"b"', look, '`'), 'a"b');
  assert.equal(expandWord('"a\\$V"', look, '`'), 'a\\x');
  assert.deepEqual(expandWords('a` b c', look, '`'), ['a b', 'c']);
});

test('special parameters and digits expand to empty; unset is empty', () => {
  const look = lookupFrom({});
  assert.equal(expandWord('a$$b', look), 'ab');
  assert.equal(expandWord('$@$*$#$?$!$-x', look), 'x');
  assert.equal(expandWord('$12x', look), 'x');
  assert.equal(expandWord('$UNSET', look), '');
  assert.equal(expandWord('$ x', look), '$ x');
});

test('expansion errors carry the location when given', () => {
  assert.throws(
    () => expandWord('${x', lookupFrom({}), '\\', { file: 'Containerfile', line: 7 }),
    (e: unknown) => e instanceof UserError && e.message.startsWith('Containerfile:7: ') && /missing '}'/.test(e.message),
  );
});
