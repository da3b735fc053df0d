import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findRegistry, parseRegistriesConf, parseToml, pullEndpoints, pushEndpoint, resolveShortName, type RegistriesConf } from '../../registry/registries-conf.js';
import { parseReference } from '../../oci/reference.js';

const text = `
# comment
unqualified-search-registries = [
  "quay.io",   # trailing comment
  'docker.io',
]
short-name-mode = "enforcing"

[[registry]]
prefix = "docker.io/library"
location = "mirror.corp/dockerhub-library"
[[registry.mirror]]
location = "cache.corp:5000/lib"
insecure = true

[[registry]]
location = "docker.io"

[[registry]]
prefix = "*.internal"
insecure = true

[[registry]]
location = "bad.example"
blocked = true

[aliases]
"fedora" = "registry.fedoraproject.org/fedora"
`;

function conf(): RegistriesConf {
  return { ...parseRegistriesConf(text, 't.conf'), files: ['t.conf'] };
}

test('TOML subset: arrays, comments, tables, arrays of tables, quoted keys', () => {
  const doc = parseToml(text, 't.conf');
  assert.deepEqual(doc['unqualified-search-registries'], ['quay.io', 'docker.io']);
  assert.equal((doc.registry as unknown[]).length, 4);
  assert.deepEqual((doc.aliases as Record<string, string>).fedora, 'registry.fedoraproject.org/fedora');
  assert.throws(() => parseToml('a = \n', 'x.conf'), /x\.conf:1/);
  assert.throws(() => parseToml('[[registry]]\nprefix = "unterminated\n', 'x.conf'), /x\.conf:2: unterminated string/);
  assert.deepEqual(parseToml('a.b = "c\\u00e9\\"" \nn = 1_000\nt = true', 'x'), { a: { b: 'cé"' }, n: 1000, t: true });
});

test('TOML strings and comments: plain ones sliced whole give what stepping through gives', () => {
  // Escapes after a plain-looking stretch, a quote escaped where the first search for the closing
  // quote stops, a literal string keeping its backslash, and a comment ending the file.
  assert.deepEqual(parseToml(`a = "x\\ty"\nb = "say \\"hi\\""\nc = 'C:\\dir'\nd = "#not a comment" # a comment\n# last`, 'x'), {
    a: 'x\ty',
    b: 'say "hi"',
    c: 'C:\\dir',
    d: '#not a comment',
  });
  // The closing quote on a later line does not make a string: it is unterminated on its own line.
  assert.throws(() => parseToml('a = "open\nb = "x"\n', 'x.conf'), /x\.conf:1: unterminated string/);
  assert.throws(() => parseToml("a = 'open\nb = 'x'\n", 'x.conf'), /x\.conf:1: unterminated string/);
  assert.deepEqual(parseToml('# only a comment, no newline', 'x'), {});
});

test('longest prefix wins, wildcard hosts match', () => {
  const c = conf();
  assert.equal(findRegistry(c, 'docker.io/library/busybox')?.location, 'mirror.corp/dockerhub-library');
  assert.equal(findRegistry(c, 'docker.io/user/app')?.prefix, 'docker.io');
  assert.equal(findRegistry(c, 'reg.internal:5000/x')?.insecure, true);
  assert.equal(findRegistry(c, 'quay.io/x'), undefined);
  assert.equal(findRegistry(c, 'docker.iox/y'), undefined);
});

test('pull endpoints: mirrors first, then rewritten primary; push: where the name says (as containers/image)', () => {
  const c = conf();
  const ref = parseReference('busybox:1');
  assert.deepEqual(pullEndpoints(c, ref, 'docker://busybox'), [
    { registry: 'cache.corp:5000', repository: 'lib/busybox', insecure: true, mirror: true },
    { registry: 'mirror.corp', repository: 'dockerhub-library/busybox', insecure: false, mirror: false },
  ]);
  assert.deepEqual(pushEndpoint(c, ref, 'x'), { registry: 'docker.io', repository: 'library/busybox', insecure: false, mirror: false });
  // The entry still decides insecure and blocked for a push.
  assert.deepEqual(pushEndpoint(c, parseReference('reg.internal:5000/x:1'), 'x'), { registry: 'reg.internal:5000', repository: 'x', insecure: true, mirror: false });
  assert.throws(() => pushEndpoint(c, parseReference('bad.example/a/b:1'), 'docker://bad.example/a/b:1'), /registry bad\.example is blocked/);
  assert.deepEqual(pullEndpoints(c, parseReference('quay.io/a/b'), 'x'), [{ registry: 'quay.io', repository: 'a/b', insecure: false, mirror: false }]);
  assert.throws(() => pullEndpoints(c, parseReference('bad.example/a/b:1'), 'docker://bad.example/a/b:1'), /docker:\/\/bad\.example\/a\/b:1: registry bad\.example is blocked/);
});

test('short names: alias, else search registries in order; qualified names stay', () => {
  const c = conf();
  assert.deepEqual(resolveShortName(c, 'fedora:39'), ['registry.fedoraproject.org/fedora:39']);
  assert.deepEqual(resolveShortName(c, 'alpine'), ['quay.io/alpine:latest', 'docker.io/library/alpine:latest']);
  assert.deepEqual(resolveShortName(c, 'localhost:5000/x'), ['localhost:5000/x:latest']);
  assert.throws(() => resolveShortName({ ...c, unqualifiedSearchRegistries: [] }, 'alpine'), /cannot be resolved/);
});
