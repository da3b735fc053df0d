// The plan: stages, ARG scoping, --target pruning, and the config-only instructions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseContainerfile } from '../../builder/containerfile/index.js';
import { globalArgScope, parseBuildArgs, StageArgs, unusedBuildArgs } from '../../builder/plan/args.js';
import { platformArgs } from '../../builder/plan/platform.js';
import { planStages } from '../../builder/plan/stages.js';
import { applyMetadata, isMetadataInstruction } from '../../builder/steps/metadata.js';
import type { StageState } from '../../builder/solve/stage-state.js';

const linux = { os: 'linux', architecture: 'amd64' };

function plan(text: string, opts: { target?: string; buildArgs?: Record<string, string> } = {}) {
  const parsed = parseContainerfile(text);
  const buildArgs = new Map(Object.entries(opts.buildArgs ?? {}));
  return planStages(parsed, { target: opts.target, globalScope: (d) => globalArgScope(d, buildArgs, platformArgs(linux), '\\') });
}

test('global ARGs expand in FROM; build args override their defaults', () => {
  const text = 'ARG BASE=alpine\nARG TAG=3\nFROM $BASE:${TAG}\n';
  assert.deepEqual(plan(text).stages[0].base, { kind: 'image', ref: 'alpine:3' });
  assert.deepEqual(plan(text, { buildArgs: { TAG: '4' } }).stages[0].base, { kind: 'image', ref: 'alpine:4' });
  assert.deepEqual(plan('FROM busybox:$TARGETARCH\n').stages[0].base, { kind: 'image', ref: 'busybox:amd64' });
});

test('FROM <stage> and COPY --from (name or index) become dependencies; the target prunes', () => {
  const text = [
    'FROM busybox AS base',
    'FROM base AS build',
    'COPY --from=0 /a /a',
    'FROM scratch AS other',
    'FROM scratch AS final',
    'COPY --from=build /x /x',
    'COPY --from=docker.io/library/nginx:1 /etc/nginx /n',
    '',
  ].join('\n');
  const p = plan(text);
  assert.deepEqual(p.order, [0, 1, 3], 'stage "other" is not built');
  assert.deepEqual(p.stages[1].base, { kind: 'stage', stage: 0 });
  assert.deepEqual(p.stages[3].imageDeps, ['docker.io/library/nginx:1']);
  assert.deepEqual(plan(text, { target: 'BUILD' }).order, [0, 1], 'stage names are case-insensitive');
  assert.throws(() => plan(text, { target: 'nope' }), /target stage "nope" could not be found/);
});

test('stage name errors are positioned', () => {
  assert.throws(() => plan('FROM a AS x\nFROM b AS x\n'), /Containerfile:2: duplicate stage name "x"/);
  assert.throws(() => plan('ENV A=1\nFROM a\n'), /Containerfile:1: ENV must come after FROM/);
});

test('ARG in a stage: build arg, default, global value, and ENV winning over ARG', () => {
  const globals = new Map([['G', 'global']]);
  const args = new StageArgs(new Map([['B', 'from-cli']]), globals, '\\');
  args.declare('B', 'default', new Map());
  args.declare('D', '${B}-x', new Map());
  args.declare('G', undefined, new Map());
  args.declare('U', undefined, new Map());
  assert.equal(args.get('B'), 'from-cli');
  assert.equal(args.get('D'), 'from-cli-x');
  assert.equal(args.get('G'), 'global');
  assert.equal(args.get('U'), undefined);
  assert.deepEqual(unusedBuildArgs(new Map([['B', '1'], ['X', '2'], ['HTTP_PROXY', 'p'], ['TARGETARCH', 'a']]), new Set(['B']), platformArgs(linux)), ['X']);
  assert.deepEqual([...parseBuildArgs(['A=1', 'B', 'C=x=y'], { B: 'env' })], [['A', '1'], ['B', 'env'], ['C', 'x=y']]);
});

function stateFor(text: string): StageState {
  const parsed = parseContainerfile(text);
  const stage = planStages(parsed, { globalScope: () => new Map() }).stages[0];
  const state: StageState = {
    stage,
    platform: linux,
    image: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Cmd: ['inherited'], Env: ['PATH=/bin'] } },
    layers: [],
    history: [],
    args: new StageArgs(new Map(), new Map(), '\\'),
    declaredArgs: new Set(),
    escape: '\\',
    cmdSetInStage: false,
  };
  for (const ins of stage.instructions) if (isMetadataInstruction(ins)) applyMetadata(ins, state);
  return state;
}

test('config instructions follow Docker: ENTRYPOINT resets an inherited CMD, SHELL applies to shell forms', () => {
  assert.equal(stateFor('FROM x\nENTRYPOINT ["e"]\n').image.config.Cmd, null);
  assert.deepEqual(stateFor('FROM x\nCMD ["c"]\nENTRYPOINT ["e"]\n').image.config.Cmd, ['c']);
  const s = stateFor('FROM x\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nCMD echo hi\nENTRYPOINT exec app\n');
  assert.deepEqual(s.image.config.Cmd, ['/bin/bash', '-o', 'pipefail', '-c', 'echo hi']);
  assert.deepEqual(s.image.config.Entrypoint, ['/bin/bash', '-o', 'pipefail', '-c', 'exec app']);
});

test('ENV: one line sees the values from before it; later ENV replaces in place', () => {
  const s = stateFor('FROM x\nENV A=1\nENV A=2 B=$A\nENV PATH=/usr/bin:$PATH\n');
  assert.deepEqual(s.image.config.Env, ['PATH=/usr/bin:/bin', 'A=2', 'B=1']);
});

test('EXPOSE ranges and protocols, VOLUME, HEALTHCHECK, WORKDIR relative to the previous one', () => {
  const s = stateFor('FROM x\nEXPOSE 80 7000-7001/udp\nVOLUME /a /b\nWORKDIR /srv\nWORKDIR app\nHEALTHCHECK --interval=1m30s --retries=3 CMD curl -f http://localhost/\nSTOPSIGNAL 9\n');
  assert.deepEqual(Object.keys(s.image.config.ExposedPorts!), ['80/tcp', '7000/udp', '7001/udp']);
  assert.deepEqual(Object.keys(s.image.config.Volumes!), ['/a', '/b']);
  assert.equal(s.image.config.WorkingDir, '/srv/app');
  assert.deepEqual(s.image.config.Healthcheck, { Test: ['CMD-SHELL', 'curl -f http://localhost/'], Interval: 90e9, Retries: 3 });
  assert.equal(s.image.config.StopSignal, '9');
  assert.throws(() => stateFor('FROM x\nSTOPSIGNAL SIGNOPE\n'), /Containerfile:2: invalid signal/);
});
