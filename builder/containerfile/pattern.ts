// Shell patterns for `${var#pat}`, `${var%pat}` and `${var/pat/repl}`: `*` any string, `?` one
// character, `\` escapes; no bracket expressions (BuildKit's subset of POSIX 2.13).

export class PatternError extends Error {}

/**
 * Converts a shell pattern to a RegExp. `greedy` picks `.*` vs `.*?` for `*`; `anchored` pins the
 * match to the start. An escaped `}` or `/` is allowed because those must be escaped inside `${}`;
 * any other escape must be of `*`, `?` or `\`.
 */
export function shellPatternToRegExp(pattern: string, greedy: boolean, anchored: boolean, global = false): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  const star = greedy ? '.*' : '.*?';
  for (let i = 0; i < chars.length; i++) {
    let tok = chars[i]!;
    switch (tok) {
      case '*':
        out += star;
        continue;
      case '?':
        out += '.';
        continue;
      case '\\': {
        const next = chars[i + 1];
        if (next === '}' || next === '/') continue; // the escape is syntax of ${}, not of the pattern
        if (next !== '*' && next !== '?' && next !== '\\') {
          throw new PatternError(`invalid escape '\\${next ?? ''}'`);
        }
        out += '\\' + next;
        i++;
        continue;
      }
      case '[': case ']': case '{': case '}': case '.': case '+': case '(': case ')': case '|': case '^': case '$':
        out += '\\' + tok;
        continue;
      default:
        out += tok;
    }
  }
  return new RegExp(out, global ? 'gu' : 'u');
}

function reverseString(s: string): string {
  return Array.from(s).reverse().join('');
}

/** Reverses a pattern but keeps each escape in front of the character it escapes: a\*c → c\*a. */
export function reversePattern(pattern: string): string {
  const runes = Array.from(pattern);
  const out: string[] = new Array(runes.length);
  const last = runes.length - 1;
  for (let i = 0; i <= last; ) {
    const tok = runes[i]!;
    const outIdx = last - i;
    if (tok === '\\' && i !== last) {
      out[outIdx - 1] = tok;
      out[outIdx] = runes[i + 1]!;
      i += 2;
    } else {
      out[outIdx] = tok;
      i++;
    }
  }
  return out.join('');
}

/** `${v#pat}` (shortest) / `${v##pat}` (greedy): removes a matching prefix. */
export function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = shellPatternToRegExp(pattern, greedy, true).exec(value);
  return m ? value.slice(m.index + m[0].length) : value;
}

/**
 * `${v%pat}` / `${v%%pat}`: removes a matching suffix. A regex cannot find the shortest rightmost
 * match directly, so reverse both pattern and value and remove a prefix instead.
 */
export function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverseString(trimPrefix(reversePattern(pattern), reverseString(value), greedy));
}
