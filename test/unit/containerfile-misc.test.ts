import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandsFlag, expandsVariables, INSTRUCTION_KINDS, parseDuration } from '../../builder/containerfile/index.js';
import { UserError } from '../../oci/errors.js';

test('parseDuration: Go time.ParseDuration syntax in nanoseconds', () => {
  const cases: [string, number][] = [
    ['0', 0],
    ['30s', 30e9],
    ['1m30s', 90e9],
    ['500ms', 500e6],
    ['1h', 3600e9],
    ['1.5h', 5400e9],
    ['.5s', 500e6],
    ['1.s', 1e9],
    ['10us', 10e3],
    ['10µs', 10e3], // micro sign
    ['10μs', 10e3], // Greek mu
    ['7ns', 7],
    ['+5s', 5e9],
    ['-5s', -5e9],
    ['1h2m3s4ms', 3723004e6],
  ];
  for (const [input, ns] of cases) assert.equal(parseDuration(input), ns, input);
  for (const bad of ['', '5', 's', '.s', '1x', '1 s', '1s ', '--1s', '1d']) {
    assert.throws(() => parseDuration(bad), UserError, JSON.stringify(bad));
  }
  assert.throws(() => parseDuration('5', { file: 'Containerfile', line: 3 }), (e: unknown) => e instanceof UserError && e.message === 'Containerfile:3: time: invalid duration "5"');
});

test('which instructions and flags Docker expands variables in', () => {
  const expanding = INSTRUCTION_KINDS.filter(expandsVariables).sort();
  assert.deepEqual(expanding, ['ADD', 'ARG', 'COPY', 'ENV', 'EXPOSE', 'FROM', 'LABEL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR']);
  for (const k of ['RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'HEALTHCHECK', 'ONBUILD', 'MAINTAINER'] as const) {
    assert.equal(expandsVariables(k), false, k);
  }
  assert.equal(expandsFlag('COPY', 'from'), true);
  assert.equal(expandsFlag('COPY', 'chown'), true);
  assert.equal(expandsFlag('ADD', 'chmod'), true);
  assert.equal(expandsFlag('FROM', 'platform'), true);
  assert.equal(expandsFlag('COPY', 'link'), false);
  assert.equal(expandsFlag('RUN', 'network'), false);
  assert.equal(expandsFlag('HEALTHCHECK', 'interval'), false);
});

test('fixture: a realistic multi-stage Containerfile', async () => {
  const { readFile } = await import('node:fs/promises');
  const { existsSync } = await import('node:fs');
  const { dirname, join } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const { parseContainerfile } = await import('../../builder/containerfile/index.js');
  // Works from test/unit (tsx) and from dist/test/unit (compiled): walk up to the repo root.
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'fixtures/containerfiles')) && dirname(dir) !== dir) dir = dirname(dir);
  const path = join(dir, 'fixtures/containerfiles/multistage.Containerfile');
  const parsed = parseContainerfile(await readFile(path, 'utf8'), 'multistage.Containerfile');
  assert.equal(parsed.directives.syntax, 'docker/dockerfile:1');
  assert.deepEqual(
    parsed.instructions.map((i) => `${i.pos.line}:${i.kind}`),
    [
      '2:ARG', '3:ARG', '5:FROM', '6:WORKDIR', '8:COPY', '9:RUN', '12:COPY', '13:RUN', '16:FROM', '17:LABEL', '19:RUN',
      '23:COPY', '24:COPY', '28:ENV', '29:EXPOSE', '30:USER', '31:HEALTHCHECK', '32:STOPSIGNAL', '33:ENTRYPOINT', '34:CMD',
    ],
  );
  const run = parsed.instructions[5]!;
  assert.ok(run.kind === 'RUN' && run.cmd.form === 'shell');
  assert.equal(run.cmd.command, 'go mod download');
  const cfg = parsed.instructions[12]!;
  assert.ok(cfg.kind === 'COPY');
  assert.deepEqual(cfg.heredocs, [{ name: 'EOT', content: 'listen: ":8080"\nhome: $HOME\n', expand: false, chomp: true }]);
  assert.equal(cfg.pos.endLine, 27);
});
