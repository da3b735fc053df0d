// Docker's ignore-file semantics (moby/patternmatcher MatchesOrParentMatches): patterns apply in
// order and the last one that matches wins; '!' re-includes; a pattern matching a parent directory
// of a path also matches the path.

import { goMatch } from './glob.js';
import { Pattern } from './pattern.js';
import { cleanPath } from './paths.js';

export class IgnoreMatcher {
  readonly patterns: readonly Pattern[];
  readonly hasExclusions: boolean;

  /** Throws BadPatternError for a malformed pattern or a lone '!'. Blank patterns are skipped. */
  constructor(patterns: string[]) {
    this.patterns = patterns.filter((p) => p.trim() !== '').map((p) => new Pattern(p));
    this.hasExclusions = this.patterns.some((p) => p.exclusion);
  }

  /** Whether a context-relative, '/'-separated path is excluded. `isDir` does not change Docker's
   * answer (patterns are cleaned, so "dir/" and "dir" are the same); it is kept for callers. */
  ignores(relPath: string, _isDir = false): boolean {
    if (this.patterns.length === 0) return false;
    const file = cleanPath(relPath);
    if (file === '.') return false; // never exclude the root
    const slash = file.lastIndexOf('/');
    const parentDirs = slash < 0 ? [] : file.slice(0, slash).split('/');
    let matched = false;
    for (const pattern of this.patterns) {
      // An include can't flip a path that is already excluded, nor an exception one that isn't.
      if (pattern.exclusion !== matched) continue;
      let match = pattern.matches(file);
      for (let i = 0; !match && i < parentDirs.length; i++) {
        match = pattern.matches(parentDirs.slice(0, i + 1).join('/'));
      }
      if (match) matched = !pattern.exclusion;
    }
    return matched;
  }

  /**
   * Whether an (excluded) directory may contain re-included files, so a walk must descend into it.
   * Conservative: a false "yes" only costs a walk, since every file is still checked with ignores().
   */
  mayReinclude(dirRelPath: string): boolean {
    if (!this.hasExclusions) return false;
    const dir = cleanPath(dirRelPath);
    const dirParts = dir === '.' ? [] : dir.split('/');
    for (const p of this.patterns) {
      if (!p.exclusion) continue;
      if ((p.cleaned + '/').startsWith(dir + '/')) return true; // Docker's own prefix test
      if (couldMatchBelow(p.dirs, dirParts)) return true;
    }
    return false;
  }
}

/** Could a pattern with these segments match some path strictly below `dirParts`? */
function couldMatchBelow(patDirs: string[], dirParts: string[]): boolean {
  for (let i = 0; i < dirParts.length; i++) {
    const seg = patDirs[i];
    if (seg === undefined) return false; // pattern is shallower than the directory
    if (seg.includes('**')) return true; // '**' can absorb any depth
    try {
      if (!goMatch(seg, dirParts[i])) return false;
    } catch {
      return false;
    }
  }
  return patDirs.length > dirParts.length;
}
