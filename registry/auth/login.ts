// `login` checks credentials against the registry before storing them (a typo must fail now,
// not at the next push), then writes them to auth.json (0600). `logout` removes them.
import { UserError } from '../../oci/errors.js';
import type { RegistryClient } from '../distribution/client.js';
import { DEFAULT_RETRY } from '../distribution/retry.js';
import { readAuthFile, writeAuthFile } from './authfile.js';
import { defaultAuthFile } from './credentials.js';

export interface LoginOptions {
  authfile?: string;
  certDir?: string;
  tlsVerify?: boolean;
  perHostCertDirs?: string[];
}

/** Normalise what users type: "https://host/v2/" or "host/ns" → "host" or "host/ns". */
export function normalizeRegistryKey(registry: string): string {
  let r = registry.trim().replace(/^[a-z]+:\/\//, '').replace(/\/+$/, '').replace(/\/v[12]$/, '');
  if (r === 'index.docker.io' || r === 'registry-1.docker.io') r = 'docker.io';
  if (!r) throw new UserError('login: registry name is empty');
  return r;
}

export async function login(registry: string, username: string, password: string, opts: LoginOptions = {}): Promise<string> {
  const key = normalizeRegistryKey(registry);
  const host = key.split('/')[0];
  const repo = key.includes('/') ? key.slice(host.length + 1) : undefined;
  // The HTTP client is loaded on use: registry/api (which re-exports login) is loaded by local
  // commands too.
  const { RegistryClient } = await import('../distribution/client.js');
  const client = await RegistryClient.create({
    registry: host,
    repository: repo ?? 'tsbuild-login-check',
    reference: key,
    insecure: opts.tlsVerify === false,
    certDir: opts.certDir,
    perHostCertDirs: opts.perHostCertDirs,
    creds: { username, password },
    retry: DEFAULT_RETRY,
    push: false,
  });
  try {
    await verify(client);
  } finally {
    await client.close();
  }
  const file = opts.authfile ?? defaultAuthFile();
  const content = (await readAuthFile(file)) ?? {};
  content.auths = { ...(content.auths ?? {}), [key]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } };
  await writeAuthFile(file, content);
  return file;
}

/** Authenticate the way a pull would: ping, then ask for /v2/ with credentials (gets a token first). */
async function verify(client: RegistryClient): Promise<void> {
  await client.ping();
  try {
    // Basic: /v2/ must answer 200 with the credentials. Bearer: fetching a token for an empty
    // scope list is enough to prove the password, as `docker login` does.
    const res = await client.send({ method: 'GET', url: '/v2/', scopes: [], ok: [200], what: 'logging in' });
    await res.body.dump();
  } catch (e) {
    if (e instanceof UserError) throw new UserError(e.message.replace(/^logging in for /, `logging in to `), { cause: e });
    throw e;
  }
}

/** Remove stored credentials; returns false when there were none for `registry`. */
export async function logout(registry: string, opts: { authfile?: string } = {}): Promise<boolean> {
  const key = normalizeRegistryKey(registry);
  const file = opts.authfile ?? defaultAuthFile();
  const content = await readAuthFile(file);
  if (!content?.auths || !(key in content.auths)) return false;
  delete content.auths[key];
  await writeAuthFile(file, content);
  return true;
}
