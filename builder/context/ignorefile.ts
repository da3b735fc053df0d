// Finding and parsing the ignore file of a build context.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../oci/errors.js';
import { cleanPath } from './paths.js';

export interface IgnoreFileOptions {
  /** --ignorefile: used instead of any file in the context; it must exist. */
  ignorefile?: string;
  /** Path of the Containerfile; `<it>.containerignore` / `<it>.dockerignore` next to it win over
   * the context's own files (buildah, and BuildKit's Dockerfile.dockerignore). */
  containerfile?: string;
}

/** Parse ignore-file text the way moby/patternmatcher/ignorefile.ReadAll does. */
export function parseIgnoreFile(text: string): string[] {
  const out: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const line of lines) {
    // Comments are recognised before trimming: "  # x" is a pattern, as in Docker.
    if (line.startsWith('#')) continue;
    let pattern = line.trim();
    if (pattern === '') continue;
    const invert = pattern.startsWith('!');
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern.length > 0) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    out.push(invert ? '!' + pattern : pattern);
  }
  return out;
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** The ignore patterns for a context (empty when no ignore file applies). */
export async function loadIgnorePatterns(contextDir: string, opts: IgnoreFileOptions = {}): Promise<string[]> {
  if (opts.ignorefile) {
    const text = await readIfExists(opts.ignorefile);
    if (text === undefined) throw new UserError(`ignore file ${opts.ignorefile} not found`);
    return parseIgnoreFile(text);
  }
  const candidates: string[] = [];
  if (opts.containerfile) {
    candidates.push(`${opts.containerfile}.containerignore`, `${opts.containerfile}.dockerignore`);
  }
  candidates.push(path.join(contextDir, '.containerignore'), path.join(contextDir, '.dockerignore'));
  for (const file of candidates) {
    const text = await readIfExists(file);
    if (text !== undefined) return parseIgnoreFile(text);
  }
  return [];
}
