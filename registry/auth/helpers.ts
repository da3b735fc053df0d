// Docker credential helpers: `docker-credential-<name> get` reads the server URL on stdin and prints
// {"ServerURL","Username","Secret"}. A missing entry is not an error (no credentials, try anonymous).
import { childProcessBuiltin } from '../../oci/builtins.js';
import { UserError } from '../../oci/errors.js';
import type { Credentials } from './credentials.js';

export async function runCredentialHelper(name: string, serverUrl: string): Promise<Credentials | undefined> {
  const bin = `docker-credential-${name}`;
  const { code, stdout, stderr, spawnError } = await run(bin, ['get'], serverUrl);
  if (spawnError) throw new UserError(`credential helper ${bin} could not be run: ${spawnError}`);
  if (code !== 0) {
    // Helpers say "credentials not found in native keychain" for an unknown server.
    if (/not found/i.test(stdout + stderr)) return undefined;
    throw new UserError(`credential helper ${bin} failed for ${serverUrl} (exit ${code})`);
  }
  let parsed: { Username?: string; Secret?: string };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    throw new UserError(`credential helper ${bin} printed something that is not JSON`);
  }
  if (!parsed.Secret) return undefined;
  if (parsed.Username === '<token>') return { identityToken: parsed.Secret };
  return { username: parsed.Username ?? '', password: parsed.Secret };
}

function run(bin: string, args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string; spawnError?: string }> {
  return new Promise((resolve) => {
    // node:child_process is loaded here, not with the registry client: most pushes run no helper.
    const child = childProcessBuiltin().spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => resolve({ code: null, stdout, stderr, spawnError: (e as NodeJS.ErrnoException).code ?? e.message }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}
