import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseContainerfile, type Instruction, type InstructionOf } from '../../builder/containerfile/index.js';
import { UserError } from '../../oci/errors.js';

const parse = (text: string) => parseContainerfile(text).instructions;
const one = <K extends Instruction['kind']>(text: string, kind: K): InstructionOf<K> => {
  const list = parse(text);
  const found = list.find((i) => i.kind === kind);
  assert.ok(found, `no ${kind} in ${JSON.stringify(list.map((i) => i.kind))}`);
  return found as InstructionOf<K>;
};

/** Asserts a UserError positioned at `line` whose message matches `re`. */
function throwsAt(text: string, line: number, re: RegExp, file = 'Containerfile'): UserError {
  let caught: unknown;
  try {
    parseContainerfile(text, file);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof UserError, `expected a UserError for ${JSON.stringify(text)}, got ${String(caught)}`);
  assert.equal(caught.location?.line, line, `line of: ${caught.message}`);
  assert.ok(caught.message.startsWith(`${file}:${line}: `), caught.message);
  assert.match(caught.message, re);
  return caught;
}

test('FROM: image, alias (lowercased), --platform, unexpanded', () => {
  const f = one('FROM --platform=$BUILDPLATFORM golang:1.22 AS Builder', 'FROM');
  assert.equal(f.image, 'golang:1.22');
  assert.equal(f.alias, 'builder');
  assert.deepEqual(f.flags.map((x) => [x.name, x.value]), [['platform', '$BUILDPLATFORM']]);
  assert.equal(one('from ${BASE:-alpine}', 'FROM').image, '${BASE:-alpine}');
  assert.equal(one('FROM scratch', 'FROM').alias, undefined);
  assert.equal(one('FROM a as b', 'FROM').alias, 'b');
});

test('FROM argument errors', () => {
  throwsAt('FROM', 1, /FROM requires either one or three arguments/);
  const e = throwsAt('FROM a\nFROM img AS', 2, /FROM requires either one or three arguments/);
  assert.match(e.hint ?? '', /name the stage/);
  throwsAt('FROM a b', 1, /one or three arguments/);
  throwsAt('FROM a b c', 1, /one or three arguments/);
  throwsAt('FROM a AS 1st', 1, /invalid name for build stage: "1st"/);
  throwsAt('FROM --platform a', 1, /missing a value on flag: --platform/);
});

test('RUN: shell form, exec form, invalid JSON falls back to shell form', () => {
  const shell = one('RUN apt-get update && apt-get install -y curl', 'RUN');
  assert.deepEqual(shell.cmd, { form: 'shell', command: 'apt-get update && apt-get install -y curl' });
  assert.deepEqual(one('RUN ["echo", "hi there"]', 'RUN').cmd, { form: 'exec', args: ['echo', 'hi there'] });
  assert.deepEqual(one("RUN ['single', 'quotes']", 'RUN').cmd, { form: 'shell', command: "['single', 'quotes']" });
  assert.deepEqual(one('RUN [ "unterminated"', 'RUN').cmd, { form: 'shell', command: '[ "unterminated"' });
  throwsAt('FROM a\nRUN ["a", 1]', 2, /arrays must be comprised of strings only/);
  throwsAt('FROM a\nRUN', 2, /RUN requires at least one argument/);
  throwsAt('FROM a\nRUN []', 2, /RUN requires at least one argument/);
  throwsAt('FROM a\nRUN [ ]', 2, /RUN requires at least one argument/);
});

test('RUN flags: --mount repeatable, --network, --security; bad ones rejected', () => {
  const r = one('RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=x --network=none --security=insecure make', 'RUN');
  assert.deepEqual(r.flags.map((f) => [f.name, f.value]), [
    ['mount', 'type=cache,target=/root/.cache'],
    ['mount', 'type=secret,id=x'],
    ['network', 'none'],
    ['security', 'insecure'],
  ]);
  assert.deepEqual(r.cmd, { form: 'shell', command: 'make' });
  assert.equal(r.flags[0]!.pos.column, 5);
  const e = throwsAt('FROM a\nRUN --mont=type=cache make', 2, /unknown flag: --mont/);
  assert.equal(e.hint, 'did you mean --mount?');
  throwsAt('FROM a\nRUN --network=a --network=b x', 2, /duplicate flag specified: --network/);
  throwsAt('FROM a\nRUN --mount x', 2, /missing a value on flag: --mount/);
});

test('flag words: quotes removed, `--` ends flags, flags only at the start', () => {
  const c = one('COPY --chown="app user" -- --weird /dst', 'COPY');
  assert.deepEqual(c.flags.map((f) => [f.name, f.value]), [['chown', 'app user']]);
  assert.deepEqual(c.sources, ['--weird']);
  const r = one('RUN echo --mount=not-a-flag', 'RUN');
  assert.deepEqual(r.flags, []);
  assert.deepEqual(r.cmd, { form: 'shell', command: 'echo --mount=not-a-flag' });
});

test('CMD and ENTRYPOINT', () => {
  assert.deepEqual(one('CMD ["nginx", "-g", "daemon off;"]', 'CMD').cmd, { form: 'exec', args: ['nginx', '-g', 'daemon off;'] });
  assert.deepEqual(one('CMD echo $HOME', 'CMD').cmd, { form: 'shell', command: 'echo $HOME' });
  assert.deepEqual(one('ENTRYPOINT []', 'ENTRYPOINT').cmd, { form: 'exec', args: [] });
  assert.deepEqual(one('entrypoint ["/init"]', 'ENTRYPOINT').cmd, { form: 'exec', args: ['/init'] });
  throwsAt('FROM a\nCMD --help', 2, /unknown flag: --help/);
  throwsAt('FROM a\n\nCMD', 3, /CMD requires at least one argument/);
});

test('SHELL must be a non-empty JSON array', () => {
  assert.deepEqual(one('SHELL ["/bin/bash", "-o", "pipefail", "-c"]', 'SHELL').args, ['/bin/bash', '-o', 'pipefail', '-c']);
  throwsAt('FROM a\nSHELL /bin/bash -c', 2, /SHELL requires the arguments to be in JSON form/);
  throwsAt('FROM a\nSHELL []', 2, /SHELL requires at least one argument/);
});

test('ENV: key=value pairs keep quotes, legacy `ENV k v` form, errors', () => {
  assert.deepEqual(one('ENV A=1 B="two words" C=\'$lit\' D=', 'ENV').pairs, [
    { key: 'A', value: '1' },
    { key: 'B', value: '"two words"' },
    { key: 'C', value: "'$lit'" },
    { key: 'D', value: '' },
  ]);
  assert.deepEqual(one('ENV PATH /usr/local/bin:$PATH  and more', 'ENV').pairs, [{ key: 'PATH', value: '/usr/local/bin:$PATH  and more' }]);
  assert.deepEqual(one('ENV A=a\\ b', 'ENV').pairs, [{ key: 'A', value: 'a\\ b' }]);
  throwsAt('FROM a\nENV ONLYKEY', 2, /ENV must have two arguments/);
  throwsAt('FROM a\nENV', 2, /ENV requires at least one argument/);
  throwsAt('FROM a\nENV A=1 B', 2, /can't find = in "B"/);
  throwsAt('FROM a\nENV =x', 2, /ENV names can not be blank/);
});

test('LABEL pairs', () => {
  assert.deepEqual(one('LABEL org.opencontainers.image.title="My app" version=1.0', 'LABEL').pairs, [
    { key: 'org.opencontainers.image.title', value: '"My app"' },
    { key: 'version', value: '1.0' },
  ]);
  assert.deepEqual(one('LABEL "com.example.vendor"="ACME Inc"', 'LABEL').pairs, [{ key: '"com.example.vendor"', value: '"ACME Inc"' }]);
  throwsAt('FROM a\nLABEL', 2, /LABEL requires at least one argument/);
});

test('ARG: names with and without defaults; before FROM they are ordinary instructions', () => {
  const list = parse('ARG VERSION=1.0 FLAVOR\nFROM img:${VERSION}\nARG VERSION\nARG Q="a b"');
  assert.deepEqual(list.map((i) => i.kind), ['ARG', 'FROM', 'ARG', 'ARG']);
  assert.deepEqual((list[0] as InstructionOf<'ARG'>).args, [{ name: 'VERSION', default: '1.0' }, { name: 'FLAVOR' }]);
  assert.deepEqual((list[3] as InstructionOf<'ARG'>).args, [{ name: 'Q', default: '"a b"' }]);
  throwsAt('ARG', 1, /ARG requires at least one argument/);
  throwsAt('ARG =x', 1, /ARG names can not be blank/);
});

test('EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, MAINTAINER', () => {
  assert.deepEqual(one('EXPOSE 80/tcp 443 $PORT', 'EXPOSE').ports, ['80/tcp', '443', '$PORT']);
  assert.deepEqual(one('VOLUME /data /logs', 'VOLUME').paths, ['/data', '/logs']);
  assert.deepEqual(one('VOLUME ["/var/lib/x", "/y"]', 'VOLUME').paths, ['/var/lib/x', '/y']);
  assert.equal(one('USER app:app', 'USER').user, 'app:app');
  assert.equal(one('WORKDIR /path with space', 'WORKDIR').path, '/path with space');
  assert.equal(one('STOPSIGNAL SIGTERM', 'STOPSIGNAL').signal, 'SIGTERM');
  assert.equal(one('MAINTAINER Jane Doe <jane@example.com>', 'MAINTAINER').name, 'Jane Doe <jane@example.com>');
  throwsAt('FROM a\nEXPOSE', 2, /EXPOSE requires at least one argument/);
  throwsAt('FROM a\nVOLUME []', 2, /VOLUME requires at least one argument/);
  throwsAt('FROM a\nVOLUME ["/a", " "]', 2, /VOLUME specified can not be an empty string/);
  throwsAt('FROM a\nUSER', 2, /USER requires exactly one argument/);
  throwsAt('FROM a\nWORKDIR   ', 2, /WORKDIR requires exactly one argument/);
  throwsAt('FROM a\nSTOPSIGNAL', 2, /STOPSIGNAL requires exactly one argument/);
  throwsAt('FROM a\nWORKDIR --foo /x', 2, /unknown flag: --foo/);
});

test('COPY and ADD: sources, dest, JSON form, flags', () => {
  const c = one('COPY --from=build --chown=1000:1000 --chmod=0755 --link --parents --exclude=*.md --exclude=*.txt a b/ /dst/', 'COPY');
  assert.deepEqual(c.sources, ['a', 'b/']);
  assert.equal(c.dest, '/dst/');
  assert.equal(c.json, false);
  assert.deepEqual(c.flags.map((f) => [f.name, f.value]), [
    ['from', 'build'], ['chown', '1000:1000'], ['chmod', '0755'], ['link', null], ['parents', null], ['exclude', '*.md'], ['exclude', '*.txt'],
  ]);
  const j = one('COPY ["my file", "/dest dir/"]', 'COPY');
  assert.deepEqual([j.sources, j.dest, j.json], [['my file'], '/dest dir/', true]);
  const a = one('ADD --checksum=sha256:abc --keep-git-dir=true --link=false https://x/y.tgz /opt/', 'ADD');
  assert.deepEqual(a.flags.map((f) => [f.name, f.value]), [['checksum', 'sha256:abc'], ['keep-git-dir', 'true'], ['link', 'false']]);
  throwsAt('FROM a\nCOPY onlyone', 2, /COPY requires at least two arguments, but only one was provided/);
  throwsAt('FROM a\nADD', 2, /ADD requires at least two arguments/);
  throwsAt('FROM a\nADD --from=x a b', 2, /unknown flag: --from/);
  throwsAt('FROM a\nCOPY --parents=maybe a b', 2, /expecting boolean value for flag --parents, not: maybe/);
  throwsAt('FROM a\nCOPY --from=a --from=b x y', 2, /duplicate flag/);
  throwsAt('FROM a\nCOPY --chown a b', 2, /missing a value on flag: --chown/);
});

test('HEALTHCHECK: NONE, CMD forms, durations in ns, errors', () => {
  const h = one('HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2s --start-interval=1s --retries=5 CMD curl -f http://localhost/ || exit 1', 'HEALTHCHECK');
  assert.equal(h.none, false);
  if (h.none) return;
  assert.deepEqual(h.cmd, { form: 'shell', command: 'curl -f http://localhost/ || exit 1' });
  assert.deepEqual([h.interval, h.timeout, h.startPeriod, h.startInterval, h.retries], [90e9, 500e6, 2e9, 1e9, 5]);
  assert.deepEqual((one('HEALTHCHECK cmd ["/bin/check"]', 'HEALTHCHECK') as { cmd: unknown }).cmd, { form: 'exec', args: ['/bin/check'] });
  assert.equal(one('HEALTHCHECK NONE', 'HEALTHCHECK').none, true);
  throwsAt('FROM a\nHEALTHCHECK', 2, /HEALTHCHECK requires at least one argument/);
  throwsAt('FROM a\nHEALTHCHECK NONE x', 2, /HEALTHCHECK NONE takes no arguments/);
  throwsAt('FROM a\nHEALTHCHECK CMD', 2, /Missing command after HEALTHCHECK CMD/);
  throwsAt('FROM a\nHEALTHCHECK RUN x', 2, /Unknown type "RUN" in HEALTHCHECK \(try CMD\)/);
  throwsAt('FROM a\nHEALTHCHECK --interval=5 CMD x', 2, /invalid duration "5"/);
  throwsAt('FROM a\nHEALTHCHECK --interval=10us CMD x', 2, /cannot be less than 1ms/);
  throwsAt('FROM a\nHEALTHCHECK --retries=0 CMD x', 2, /--retries must be at least 1/);
  throwsAt('FROM a\nHEALTHCHECK --retries=x CMD x', 2, /--retries/);
  throwsAt('FROM a\nHEALTHCHECK --intervl=5s CMD x', 2, /unknown flag: --intervl/);
});

test('ONBUILD: trigger text and parsed inner instruction; forbidden triggers', () => {
  const o = one('FROM a\nONBUILD COPY --chown=app . /app', 'ONBUILD');
  assert.equal(o.trigger, 'COPY --chown=app . /app');
  assert.equal(o.inner.kind, 'COPY');
  assert.deepEqual(o.inner.flags.map((f) => f.name), ['chown']);
  throwsAt('FROM a\nONBUILD ONBUILD RUN x', 2, /Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed/);
  throwsAt('FROM a\nONBUILD FROM x', 2, /FROM isn't allowed as an ONBUILD trigger/);
  throwsAt('FROM a\nONBUILD MAINTAINER x', 2, /MAINTAINER isn't allowed as an ONBUILD trigger/);
  throwsAt('FROM a\nONBUILD COPY onlyone', 2, /COPY requires at least two arguments/);
  throwsAt('FROM a\nONBUILD', 2, /ONBUILD requires at least one argument/);
  throwsAt('FROM a\nONBUILD RUM x', 2, /unknown instruction: RUM/);
});

test('keywords are case-insensitive; unknown instruction has a did-you-mean hint', () => {
  assert.deepEqual(parse('from a\nRun x\ncOpY a b').map((i) => i.kind), ['FROM', 'RUN', 'COPY']);
  const e = throwsAt('FROM a\nRNU echo hi', 2, /^Containerfile:2: unknown instruction: RNU$/);
  assert.equal(e.hint, 'did you mean RUN?');
  assert.equal(throwsAt('FROM a\nCOPPY a b', 2, /unknown instruction: COPPY/).hint, 'did you mean COPY?');
  assert.equal(throwsAt('FROM a\nFROBNICATE x', 2, /unknown instruction: FROBNICATE/).hint, undefined);
});

test('continuations: joined, comment and empty lines inside are skipped, positions span them', () => {
  const text = 'FROM a\nRUN apt-get update \\\n# a comment inside\n    # an indented comment\n\n    && apt-get install -y \\\n      curl\nUSER x';
  const list = parse(text);
  const run = list[1] as InstructionOf<'RUN'>;
  assert.deepEqual(run.cmd, { form: 'shell', command: 'apt-get update     && apt-get install -y       curl' });
  assert.deepEqual([run.pos.line, run.pos.endLine], [2, 7]);
  assert.equal(run.raw, 'RUN apt-get update \\\n# a comment inside\n    # an indented comment\n\n    && apt-get install -y \\\n      curl');
  assert.equal(list[2]!.pos.line, 8);
});

test('an escaped escape char at end of line is not a continuation', () => {
  const list = parse('FROM a\nRUN echo foo\\\\\nUSER x');
  assert.deepEqual((list[1] as InstructionOf<'RUN'>).cmd, { form: 'shell', command: 'echo foo\\\\' });
  assert.equal(list.length, 3);
});

test('errors point at the first line of an instruction that follows a multi-line continuation', () => {
  throwsAt('FROM a\nRUN a \\\n  b \\\n  c\n# comment\nCOPY onlyone', 6, /COPY requires at least two arguments/);
  throwsAt('FROM a\nRUN a \\\n  b\nWORKDIR \\\n  \\\n', 4, /WORKDIR requires exactly one argument/);
  throwsAt('FROM a\nRUN a \\\n  b\nFOO \\\n  bar', 4, /unknown instruction: FOO/);
});

test('escape directive with backtick: continuation char and word escapes change', () => {
  const r = parseContainerfile('# escape=`\nFROM mcr.microsoft.com/windows\nCOPY testfile.txt c:\\\nRUN dir c:\\ `\n  /b\nENV A=x` y');
  assert.equal(r.directives.escape, '`');
  const [, copy, run, env] = r.instructions;
  assert.deepEqual([(copy as { dest: string }).dest], ['c:\\']);
  assert.deepEqual((run as InstructionOf<'RUN'>).cmd, { form: 'shell', command: 'dir c:\\   /b' });
  assert.deepEqual((env as InstructionOf<'ENV'>).pairs, [{ key: 'A', value: 'x` y' }]);
});

test('directives: syntax and check recorded; only at the top; duplicates and bad escape rejected', () => {
  const r = parseContainerfile('# syntax=docker/dockerfile:1.7\n#check=skip=all\n# escape=\\\nFROM a');
  assert.deepEqual(r.directives, { escape: '\\', syntax: 'docker/dockerfile:1.7', check: 'skip=all' });
  // After a comment, a blank line or an instruction, `# escape=` is an ordinary comment.
  assert.equal(parseContainerfile('# hello\n# escape=`\nFROM a').directives.escape, '\\');
  assert.equal(parseContainerfile('\n# escape=`\nFROM a').directives.escape, '\\');
  assert.equal(parseContainerfile('FROM a\n# escape=`\nRUN x').directives.escape, '\\');
  assert.equal(parseContainerfile('# unknown=1\n# escape=`\nFROM a').directives.escape, '\\');
  throwsAt('# escape=`\n# escape=\\\nFROM a', 2, /only one escape parser directive can be used/);
  throwsAt('# escape=x\nFROM a', 1, /invalid escape token 'x'/);
});

test('comments and blank lines between instructions; BOM and CRLF tolerated', () => {
  const list = parse('\ufeff# top comment\r\n\r\nFROM a\r\n   # indented comment\r\nRUN echo hi\r\n');
  assert.deepEqual(list.map((i) => [i.kind, i.pos.line]), [['FROM', 3], ['RUN', 5]]);
  assert.deepEqual((list[1] as InstructionOf<'RUN'>).cmd, { form: 'shell', command: 'echo hi' });
});

test('empty file is an error', () => {
  throwsAt('# just a comment\n\n', 2, /file with no instructions/);
});

test('custom file name shows in the message', () => {
  throwsAt('FROM a\nBOGUS', 2, /unknown instruction/, 'docker/Dockerfile.dev');
});
