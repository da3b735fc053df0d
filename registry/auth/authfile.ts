// Reading and atomically writing auth.json / Docker config.json. The file holds passwords, so it is
// written 0600 in a 0700 directory, via a temp file and rename (no half-written file is ever read).
// fs.promises, not node:fs/promises: Node loads it on first use, and only a login writes this file.
import { promises as fsp, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../../oci/errors.js';

export interface AuthEntry {
  auth?: string;
  identitytoken?: string;
}

export interface AuthFile {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [other: string]: unknown;
}

/** undefined when the file does not exist; UserError when it exists but is not JSON. */
export async function readAuthFile(path: string): Promise<AuthFile | undefined> {
  let text: string;
  try {
    // Synchronously: a small file, looked up in several places before every registry request.
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new UserError(`cannot read auth file ${path}: ${(e as Error).message}`);
  }
  if (text.trim() === '') return {};
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as AuthFile;
  } catch (e) {
    throw new UserError(`auth file ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

export async function writeAuthFile(path: string, content: AuthFile): Promise<void> {
  await fsp.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fh = await fsp.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(content, null, '\t') + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fsp.rename(tmp, path);
  } catch (e) {
    await fsp.unlink(tmp).catch(() => {});
    throw e;
  }
}

