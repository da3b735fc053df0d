// A small structure-aware mutation fuzzer (no fast-check dependency): seeded, so every failure
// reproduces from (seed, iteration), and biased towards the characters and tokens the Containerfile
// grammar cares about (escapes, quotes, `${`, heredoc markers, flags, directives).

/** mulberry32: tiny, fast, good enough for fuzzing; deterministic from a 32-bit seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const KEYWORDS = ['FROM', 'RUN', 'CMD', 'LABEL', 'MAINTAINER', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL'];

export const TOKENS: readonly string[] = [
  ...KEYWORDS.map((k) => k + ' '),
  ...KEYWORDS.map((k) => '\n' + k.toLowerCase() + ' '),
  '\\\n', '`\n', '\\', '`', '$', '$$', '${', '}', '{', '${A}', '$A', '${A:-', '${A-', '${A:+', '${A+', '${A:?', '${A?',
  '${A#', '${A##', '${A%', '${A%%', '${A/', '${A//', '${1}', '$@', '${#A}', '${!A}', '${A:1:2}', '${',
  '"', "'", '""', "''", '\\"', "\\'", '<<EOF\n', '<<-EOF\n', '<<"EOF"\n', "<<'E'OF\n", '\nEOF\n', '\n\tEOF\n', '<<', '3<<X\n', 'X\n',
  '--from=', '--from=0', '--from=1', '--from=base', '--from=$A', '--mount=', '--mount=type=bind,source=dir,target=/m',
  '--mount=type=cache,target=/c,id=', '--mount=type=secret,id=s,required', '--mount=type=tmpfs,target=/t,size=',
  '--mount=type=ssh', ',from=0', ',target=', ',uid=', ',mode=0', '--chown=', '--chown=app:app', '--chown=1:2',
  '--chmod=', '--chmod=777', '--chmod=u+x', '--network=', '--network=host', '--security=insecure', '--platform=',
  '--platform=linux/arm64', '--interval=', '--retries=', '--exclude=', '--link', '--parents', '--checksum=sha256:',
  '--keep-git-dir', '--unknown', '--', '-', ' AS ', ' as x', ' AS 9', '[', ']', '["', '", "', '"]', '[]', ',',
  '# escape=`\n', '# escape=\\\n', '# escape=x\n', '# syntax=docker/dockerfile:1\n', '# check=error=true\n', '#', '# c\n',
  '\n', '\n\n', ' ', '  ', '\t', '\v', '\f', '\r', '\r\n', '=', '==', 'A=', '=B', '*', '?', '[a-z]', '[!a]', '[', '**', '**/',
  '..', '../', '../../etc/passwd', '/', '//', '.', './', '~', 'http://127.0.0.1:1/x', 'https://', 'git@x:y', 'a.txt', 'dir/',
  '*.txt', 'run.sh', '/etc/passwd', '0', '-1', '1e9', '99999999999999999999', '1h', '5ms', '1ns', '0s', 'SIGKILL', '65',
  'NONE', 'CMD ', '\0', '\x7f', '\u00a0', '\u2028', '\uFEFF', '\uD800', '\u{1F600}', 'é', 'ß',
];

const ALPHABET = ' \t\n\\`$\'"{}[]()=:-+?#%/*,.<>!@&|;~^0123456789aAbBeEzZ_\0\r\x7f\u00e9\u2028';

function randomInsert(rng: Rng): string {
  if (rng.chance(0.6)) return rng.pick(TOKENS);
  let s = '';
  for (let i = 1 + rng.int(6); i > 0; i--) s += ALPHABET[rng.int(ALPHABET.length)];
  return s;
}

function lineStarts(text: string): number[] {
  const out = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') out.push(i + 1);
  return out;
}

function mutateOnce(text: string, rng: Rng, corpus: readonly string[]): string {
  const pos = () => rng.int(text.length + 1);
  switch (rng.int(10)) {
    case 0:
    case 1: {
      const p = pos();
      return text.slice(0, p) + randomInsert(rng) + text.slice(p);
    }
    case 2: {
      const p = pos();
      return text.slice(0, p) + text.slice(p + 1 + rng.int(rng.chance(0.2) ? 200 : 12));
    }
    case 3: {
      const p = pos();
      const span = text.slice(p, p + 1 + rng.int(40));
      const q = pos();
      return text.slice(0, q) + span.repeat(1 + rng.int(rng.chance(0.1) ? 200 : 3)) + text.slice(q);
    }
    case 4: {
      const p = rng.int(Math.max(1, text.length));
      return text.slice(0, p) + ALPHABET[rng.int(ALPHABET.length)] + text.slice(p + 1);
    }
    case 5: {
      // Splice lines from another corpus entry at a line boundary.
      const other = rng.pick(corpus);
      const ol = other.split('\n');
      const a = rng.int(ol.length);
      const piece = ol.slice(a, a + 1 + rng.int(4)).join('\n') + '\n';
      const starts = lineStarts(text);
      const at = rng.pick(starts);
      return text.slice(0, at) + piece + text.slice(at);
    }
    case 6: {
      const lines = text.split('\n');
      const i = rng.int(lines.length);
      const j = rng.int(lines.length);
      [lines[i], lines[j]] = [lines[j], lines[i]];
      return lines.join('\n');
    }
    case 7: {
      const lines = text.split('\n');
      lines.splice(rng.int(lines.length), 1);
      return lines.join('\n');
    }
    case 8:
      return text.slice(0, pos());
    default: {
      // Replace one word with a token: hits flag values and expansion operands directly.
      const re = /[^\s"'=,]+/g;
      const words = [...text.matchAll(re)];
      if (words.length === 0) return text + randomInsert(rng);
      const w = rng.pick(words);
      return text.slice(0, w.index) + randomInsert(rng) + text.slice(w.index! + w[0].length);
    }
  }
}

/** 1..5 stacked mutations of a random corpus entry. */
export function mutate(rng: Rng, corpus: readonly string[]): string {
  let text = rng.pick(corpus);
  for (let n = 1 + rng.int(5); n > 0; n--) text = mutateOnce(text, rng, corpus);
  // Keep inputs small enough that one iteration stays fast.
  return text.length > 20_000 ? text.slice(0, 20_000) : text;
}

/** A random word for the expander alone. */
export function randomWord(rng: Rng): string {
  let s = '';
  for (let n = 1 + rng.int(8); n > 0; n--) s += rng.chance(0.5) ? rng.pick(TOKENS) : ALPHABET[rng.int(ALPHABET.length)];
  return s;
}
