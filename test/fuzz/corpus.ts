// The fuzz corpus on disk: seeds (real-looking Containerfiles) and regressions (inputs that once
// broke the front end, kept forever and replayed by the test suite).
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/busybox-image.js';

export const CORPUS_DIR = join(REPO_ROOT, 'test/fuzz/corpus');

export interface CorpusEntry {
  name: string;
  text: string;
}

export function readCorpus(sub: 'seeds' | 'regressions'): CorpusEntry[] {
  const dir = join(CORPUS_DIR, sub);
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => !n.startsWith('.')).sort();
  } catch {
    return [];
  }
  return names.map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') }));
}

/** Saves a failing input under a content name; returns the file name. */
export function saveRegression(text: string, kind = 'frontend'): string {
  const dir = join(CORPUS_DIR, 'regressions');
  mkdirSync(dir, { recursive: true });
  const name = `${kind}-${createHash('sha256').update(text).digest('hex').slice(0, 12)}.Containerfile`;
  writeFileSync(join(dir, name), text);
  return name;
}
