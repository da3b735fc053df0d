import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandHeredocBody, lookupFrom, parseContainerfile, type Instruction, type InstructionOf } from '../../builder/containerfile/index.js';
import { UserError } from '../../oci/errors.js';

type Of<K extends Instruction['kind']> = InstructionOf<K>;
const at = (text: string, i: number) => parseContainerfile(text).instructions[i]!;

test('RUN <<EOF: body becomes a heredoc, command is the first line', () => {
  const r = at('FROM a\nRUN <<EOF\necho hello\necho $HOME\nEOF\nUSER x', 1) as Of<'RUN'>;
  assert.deepEqual(r.cmd, { form: 'shell', command: '<<EOF' });
  assert.deepEqual(r.heredocs, [{ name: 'EOF', content: 'echo hello\necho $HOME\n', expand: true, chomp: false }]);
  assert.deepEqual([r.pos.line, r.pos.endLine], [2, 5]);
  assert.equal(r.raw, 'RUN <<EOF\necho hello\necho $HOME\nEOF');
  assert.equal(r.original, 'RUN <<EOF');
  assert.equal(at('FROM a\nRUN <<EOF\nx\nEOF\nUSER x', 2).kind, 'USER');
});

test('RUN python3 <<EOF and RUN <<EOF bash: interpreter before or after the operator', () => {
  const p = at('FROM a\nRUN python3 <<EOF\nprint("hi")\nEOF', 1) as Of<'RUN'>;
  assert.deepEqual(p.cmd, { form: 'shell', command: 'python3 <<EOF' });
  assert.equal(p.heredocs[0]!.content, 'print("hi")\n');
  const b = at('FROM a\nRUN <<EOF bash\nset -e\nEOF', 1) as Of<'RUN'>;
  assert.deepEqual(b.cmd, { form: 'shell', command: '<<EOF bash' });
  assert.equal(b.heredocs[0]!.content, 'set -e\n');
});

test('quoted delimiters disable expansion', () => {
  for (const op of ['<<"EOF"', "<<'EOF'", '<<E"O"F', '<<-"EOF"']) {
    const r = at(`FROM a\nRUN cat ${op}\n$x\nEOF`, 1) as Of<'RUN'>;
    assert.equal(r.heredocs.length, 1, op);
    assert.equal(r.heredocs[0]!.name, 'EOF', op);
    assert.equal(r.heredocs[0]!.expand, false, op);
  }
  assert.equal((at('FROM a\nRUN cat <<EOF\n$x\nEOF', 1) as Of<'RUN'>).heredocs[0]!.expand, true);
});

test('<<- strips leading tabs from body and terminator', () => {
  const r = at('FROM a\nRUN <<-EOF\n\techo a\n\t\techo b\n    spaces stay\n\tEOF\nUSER x', 1) as Of<'RUN'>;
  assert.deepEqual(r.heredocs[0], { name: 'EOF', content: 'echo a\necho b\n    spaces stay\n', expand: true, chomp: true });
  // Without `-`, a tab-indented terminator does not end the heredoc.
  assert.throws(() => parseContainerfile('FROM a\nRUN <<EOF\nx\n\tEOF\n'), /unterminated heredoc/);
});

test('several heredocs on one line are read in order', () => {
  const r = at('FROM a\nRUN <<A cat /dev/stdin && cat 3<<B\nfirst\nA\nsecond\nB\nUSER u', 1) as Of<'RUN'>;
  assert.deepEqual(r.heredocs.map((h) => [h.name, h.content, h.fileDescriptor]), [['A', 'first\n', undefined], ['B', 'second\n', 3]]);
  assert.equal(r.pos.endLine, 6);
});

test('COPY <<EOF /dest: heredoc sources are files named after the delimiter', () => {
  const c = at('FROM a\nCOPY --chmod=0755 <<run.sh <<"cfg.ini" real.txt /app/\n#!/bin/sh\necho $x\nrun.sh\n[s]\nk=$v\ncfg.ini\n', 1) as Of<'COPY'>;
  assert.deepEqual(c.sources, ['real.txt']);
  assert.equal(c.dest, '/app/');
  assert.deepEqual(c.heredocs.map((h) => [h.name, h.content, h.expand]), [
    ['run.sh', '#!/bin/sh\necho $x\n', true],
    ['cfg.ini', '[s]\nk=$v\n', false],
  ]);
  const add = at('FROM a\nADD <<EOF /x\nhi\nEOF', 1) as Of<'ADD'>;
  assert.deepEqual([add.sources, add.heredocs.map((h) => h.content)], [[], ['hi\n']]);
});

test('COPY heredoc as destination is an error', () => {
  assert.throws(
    () => parseContainerfile('FROM a\nCOPY a <<EOF\nx\nEOF'),
    (e: unknown) => e instanceof UserError && e.message === 'Containerfile:2: COPY cannot accept a heredoc as a destination',
  );
});

test('not heredocs: quoted operators, JSON form, other instructions, << inside a word', () => {
  const q = at('FROM a\nRUN echo "<<EOF"\nUSER x', 1) as Of<'RUN'>;
  assert.deepEqual(q.heredocs, []);
  const j = at('FROM a\nRUN ["cat", "<<EOF"]\nUSER x', 1) as Of<'RUN'>;
  assert.deepEqual([j.cmd.form, j.heredocs], ['exec', []]);
  assert.equal(parseContainerfile('FROM a\nCMD cat <<EOF\nUSER x').instructions.length, 3);
  assert.equal((at('FROM a\nRUN a<<EOF\nUSER x', 1) as Of<'RUN'>).heredocs.length, 0);
  assert.equal((at('FROM a\nRUN cat <<\nUSER x', 1) as Of<'RUN'>).heredocs.length, 0);
});

test('heredoc after a continuation line', () => {
  const r = at('FROM a\nRUN --network=none \\\n  cat <<EOF\nbody\nEOF\nUSER x', 1) as Of<'RUN'>;
  assert.deepEqual(r.cmd, { form: 'shell', command: 'cat <<EOF' });
  assert.equal(r.heredocs[0]!.content, 'body\n');
  assert.deepEqual([r.pos.line, r.pos.endLine], [2, 5]);
});

test('heredoc bodies are verbatim: comments, blank lines, trailing backslashes kept', () => {
  const r = at('FROM a\nRUN <<EOF\n# not a comment\n\nline \\\nEOF', 1) as Of<'RUN'>;
  assert.equal(r.heredocs[0]!.content, '# not a comment\n\nline \\\n');
});

test('ONBUILD with a heredoc keeps the body in the trigger text and the inner RUN', () => {
  const o = at('FROM a\nONBUILD RUN <<-EOF\n\techo hi\n\tEOF\n', 1) as Of<'ONBUILD'>;
  // As in BuildKit: body verbatim, then the bare delimiter (which still ends a `<<-` heredoc).
  assert.equal(o.trigger, 'RUN <<-EOF\n\techo hi\nEOF');
  const again = parseContainerfile(`FROM a\n${o.trigger}`).instructions[1] as Of<'RUN'>;
  assert.equal(again.heredocs[0]!.content, 'echo hi\n');
  assert.equal(o.inner.kind, 'RUN');
  assert.equal((o.inner as Of<'RUN'>).heredocs[0]!.content, 'echo hi\n');
});

test('unterminated heredoc: positioned at the instruction', () => {
  let err: unknown;
  try {
    parseContainerfile('FROM a\nRUN echo a \\\n  && cat <<EOF\nline\n', 'Containerfile.x');
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof UserError);
  assert.equal(err.location?.line, 2);
  assert.match(err.message, /^Containerfile\.x:2: unterminated heredoc/);
  assert.match(err.message, /"EOF"/);
});

test('COPY heredoc bodies expand as BuildKit does: `\\` escapes, quotes are text', () => {
  const env = lookupFrom({ V: 'envv', HOME: '/root', EMPTY: '' });
  const x = (body: string) => expandHeredocBody('EOF', body, env);
  // The QA repro: `\$HOME` is a literal `$HOME`, no stray backslash left behind.
  assert.equal(x('echo "esc \\$HOME"\n'), 'echo "esc $HOME"\n');
  assert.equal(x('a: \\$V\nb: $V\nc: ${V}\n'), 'a: $V\nb: envv\nc: envv\n');
  // Quotes do not quote: variables inside them expand and the quotes stay.
  assert.equal(x(`single '$V' double "$V"\n`), `single 'envv' double "envv"\n`);
  assert.equal(x("it's fine\n"), "it's fine\n", 'an unbalanced quote is just a character');
  // The ${...} forms of the word lexer.
  assert.equal(x('${NOPE:-dflt} ${EMPTY:-e} ${V:+set} ${V#e} ${V%v} ${V/n/N}\n'), 'dflt e set nvv env eNvv\n');
  assert.equal(x('unset:[$NOPE] lone $ and $1 and $(cmd)\n'), 'unset:[] lone $ and  and $(cmd)\n');
  // BuildKit's testCopyHeredocSpecialSymbols: `\` + newline, `\\\\`, `\\$`.
  assert.equal(x('\\\n'), '\n');
  assert.equal(x('\\\\\n'), '\\\n');
  assert.equal(x('\\$\n'), '$\n');
  assert.equal(x('printf "a\\tb"\n'), 'printf "atb"\n', 'every backslash escapes, as in BuildKit');
  assert.equal(x('`backtick` stays\n'), '`backtick` stays\n', 'the escape directive does not apply');
});

test('COPY heredoc expansion errors fail at the instruction, naming the heredoc', () => {
  const loc = { file: 'Containerfile', line: 4 };
  assert.throws(() => expandHeredocBody('conf', 'x=${REQUIRED:?must be set}\n', lookupFrom({}), loc), (e: unknown) =>
    e instanceof UserError && e.message === 'Containerfile:4: failed to expand heredoc conf: REQUIRED: must be set');
  assert.throws(() => expandHeredocBody('conf', 'x=${V:-never closed\n', lookupFrom({}), loc), /Containerfile:4: failed to expand heredoc conf: syntax error: missing '}'$/);
});
