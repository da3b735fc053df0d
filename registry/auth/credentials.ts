// Where registry credentials come from, in the order podman/skopeo look:
//   --creds user:pass, --authfile, $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json
//   (root: /run/containers/0/auth.json), ~/.config/containers/auth.json, ~/.docker/config.json.
// Inside one file, a per-repository key ("host/ns/repo") beats the host key, and credHelpers /
// credsStore are consulted after a file has no inline `auth` for the host.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../oci/errors.js';
import { readAuthFile, type AuthFile } from './authfile.js';
import { runCredentialHelper } from './helpers.js';

export type Credentials =
  | { username: string; password: string; identityToken?: undefined }
  /** An OAuth2 refresh token from `docker login` against a token server ("<token>" user). */
  | { identityToken: string; username?: string; password?: undefined };

export interface CredentialOptions {
  /** `user:pass` (or `user` alone, which is refused: we never prompt). */
  creds?: string;
  authfile?: string;
}

/** Parse `--creds user:pass`. The password may contain colons; only the first one splits. */
export function parseCredsFlag(creds: string): Credentials {
  const i = creds.indexOf(':');
  if (i <= 0 || i === creds.length - 1) throw new UserError('--creds must be "username:password"');
  return { username: creds.slice(0, i), password: creds.slice(i + 1) };
}

/** The auth files to read, most specific first. An explicit --authfile is the only one read. */
export function authFileCandidates(authfile?: string): string[] {
  if (authfile) return [authfile];
  const env = process.env;
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  files.push(defaultAuthFile());
  files.push(join(env.HOME || homedir(), '.config', 'containers', 'auth.json'));
  files.push(join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json'));
  return [...new Set(files)];
}

/** The file `login` writes when no --authfile is given (podman's rule). */
export function defaultAuthFile(): string {
  const env = process.env;
  if (env.REGISTRY_AUTH_FILE) return env.REGISTRY_AUTH_FILE;
  if (process.getuid?.() === 0) return '/run/containers/0/auth.json';
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json');
  return join(env.HOME || homedir(), '.config', 'containers', 'auth.json');
}

/**
 * Find credentials for `registry` (host[:port], "docker.io" for Docker Hub) and optionally the
 * repository path, so per-repo keys in auth.json apply.
 */
export async function lookupCredentials(registry: string, repository: string | undefined, opts: CredentialOptions = {}): Promise<Credentials | undefined> {
  if (opts.creds) return parseCredsFlag(opts.creds);
  for (const file of authFileCandidates(opts.authfile)) {
    const parsed = await readAuthFile(file);
    if (!parsed) continue;
    const found = await fromAuthFile(parsed, registry, repository);
    if (found) return found;
  }
  return undefined;
}

export async function fromAuthFile(f: AuthFile, registry: string, repository?: string): Promise<Credentials | undefined> {
  const auths = f.auths ?? {};
  for (const key of [...candidateKeys(registry, repository), ...legacyUrlKeys(auths, registry)]) {
    const entry = auths[key];
    if (!entry) continue;
    if (entry.identitytoken) return { identityToken: entry.identitytoken };
    if (entry.auth) return decodeAuth(entry.auth, key);
  }
  // Docker's config.json may also name a helper per registry, or one store for all.
  const helper = f.credHelpers?.[registry] ?? (registry === 'docker.io' ? f.credHelpers?.['index.docker.io'] : undefined) ?? f.credsStore;
  if (helper) return runCredentialHelper(helper, registry === 'docker.io' ? 'https://index.docker.io/v1/' : registry);
  return undefined;
}

/** Keys to try in `auths`, most specific first: host/ns/repo, host/ns, host, and legacy URL forms. */
function candidateKeys(registry: string, repository?: string): string[] {
  const keys: string[] = [];
  if (repository) {
    const parts = repository.split('/');
    for (let n = parts.length; n > 0; n--) keys.push(`${registry}/${parts.slice(0, n).join('/')}`);
  }
  keys.push(registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`);
  if (registry === 'docker.io') keys.push('https://index.docker.io/v1/', 'index.docker.io', 'registry-1.docker.io');
  return keys;
}

/**
 * Other keys written as URLs (`http://host:5000/v1/`, `https://host/anything`): containers/image reads
 * such a key as its host alone, so they count for that registry, after the exact forms above.
 */
function legacyUrlKeys(auths: Record<string, unknown>, registry: string): string[] {
  return Object.keys(auths).filter((k) => /^https?:\/\//.test(k) && k.replace(/^https?:\/\//, '').split('/')[0] === registry);
}

function decodeAuth(b64: string, key: string): Credentials {
  const text = Buffer.from(b64, 'base64').toString('utf8');
  const i = text.indexOf(':');
  // Never echo the value: it is a password.
  if (i <= 0) throw new UserError(`malformed "auth" entry for ${key} in auth file`);
  return { username: text.slice(0, i), password: text.slice(i + 1) };
}
