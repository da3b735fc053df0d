// Character classes with Go's `unicode` semantics. BuildKit's lexer is written against Go's
// definitions, and JS's `\s` differs (it includes U+FEFF and lacks U+0085), so we spell them out.

const GO_SPACES = new Set([
  '\t', '\n', '\v', '\f', '\r', ' ', '\u0085', '\u00a0', '\u1680',
  '\u2000', '\u2001', '\u2002', '\u2003', '\u2004', '\u2005', '\u2006', '\u2007', '\u2008', '\u2009', '\u200a',
  '\u2028', '\u2029', '\u202f', '\u205f', '\u3000',
]);

/** Go's unicode.IsSpace. */
export function isSpace(ch: string): boolean {
  return GO_SPACES.has(ch);
}

/** Go's unicode.IsLetter. */
export function isLetter(ch: string): boolean {
  return /^\p{L}$/u.test(ch);
}

/** Go's unicode.IsDigit (decimal digits in any script). */
export function isDigit(ch: string): boolean {
  return /^\p{Nd}$/u.test(ch);
}

/** Trims Go-unicode whitespace from the left. */
export function trimLeftSpace(s: string): string {
  let i = 0;
  while (i < s.length && isSpace(s[i]!)) i++;
  return s.slice(i);
}

/** strings.TrimSpace with Go's definition of space. */
export function trimSpace(s: string): string {
  let end = s.length;
  while (end > 0 && isSpace(s[end - 1]!)) end--;
  return trimLeftSpace(s.slice(0, end));
}
