// inspect --format: the Go template subset scripts use with `podman inspect --format`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderInspectTemplate } from '../../cli/inspect-template.js';
import { UserError } from '../../oci/errors.js';

const IMAGE = { Id: 'abc', Size: 42, RepoTags: ['localhost/a:1', 'localhost/a:2'], Config: { Env: ['A=1', 'B=2'], Labels: { version: '1.2', 'org.x': 'y' }, Cmd: null } };

test('field paths print as Go prints them', () => {
  assert.equal(renderInspectTemplate('{{.Id}} {{ .Size }}', IMAGE), 'abc 42');
  assert.equal(renderInspectTemplate('{{.Config.Env}}', IMAGE), '[A=1 B=2]');
  assert.equal(renderInspectTemplate('{{.Config.Labels}}', IMAGE), 'map[org.x:y version:1.2]');
  assert.equal(renderInspectTemplate('{{.Config.Cmd}}|{{.Config.Nope}}|{{.Id.Deeper}}', IMAGE), '<no value>|<no value>|<no value>');
  assert.equal(renderInspectTemplate('{{.Id}}\\t{{.Size}}\\n', IMAGE), 'abc\t42\n');
});

test('json and index', () => {
  assert.equal(renderInspectTemplate('{{json .Config.Env}}', IMAGE), '["A=1","B=2"]');
  assert.equal(renderInspectTemplate('{{json .Config.Cmd}}', IMAGE), 'null');
  assert.equal(renderInspectTemplate('{{index .Config.Labels "version"}}', IMAGE), '1.2');
  assert.equal(renderInspectTemplate('{{index .RepoTags 1}}', IMAGE), 'localhost/a:2');
  assert.equal(renderInspectTemplate('{{index .Config.Labels "missing"}}', IMAGE), '<no value>');
});

test('anything else is a usage error, never printed as it is', () => {
  for (const f of ['{{if .Id}}x{{end}}', '{{Id}}', '{{printf "%s" .Id}}', '{{index .RepoTags 1.5}}']) {
    assert.throws(() => renderInspectTemplate(f, IMAGE), (e: unknown) => e instanceof UserError && e.exitCode === 2, f);
  }
});
