// The build context: ignore files, Docker pattern matching, walking and symlink-safe resolution.
export { loadIgnorePatterns, parseIgnoreFile, type IgnoreFileOptions } from './ignorefile.js';
export { IgnoreMatcher } from './ignore.js';
export { Pattern } from './pattern.js';
export { goMatch, checkPattern, hasWildcard, BadPatternError } from './glob.js';
export { walkContext, type ContextEntry, type WalkOptions } from './walk.js';
export { resolveScoped, type ReadLink, type ScopedResult } from './scoped.js';
export { resolveSourcePath, contextSourcePath, treeReadLink, type ResolvedSource, type SourceTree } from './resolve-source.js';
export { cleanPath } from './paths.js';
