// Build-wide settings for RUN steps (the CLI's --isolation, --network and --secret).
import type { Isolation } from '../../native/index.js';

export type RunNetwork = 'private' | 'none' | 'host';

export interface SecretSource {
  /** Read the secret from this file when the step runs. */
  file?: string;
  /** Or from this environment variable of the builder. */
  env?: string;
}

export interface RunOptions {
  isolation: Isolation;
  /**
   * What `RUN --network=default` means. tsbuild has no CNI/slirp network of its own, so the
   * default is the host's network (like buildah's rootless default and BuildKit's host fallback:
   * package installs work); `private` is a fresh network namespace with only loopback.
   */
  network: RunNetwork;
  secrets: Map<string, SecretSource>;
  /** The default syscall filter on RUN steps (false: `--security-opt seccomp=unconfined`). */
  seccomp: boolean;
}

/** oci as root, rootless otherwise; TSBUILD_ISOLATION overrides (like BUILDAH_ISOLATION). */
export function defaultIsolation(env: NodeJS.ProcessEnv = process.env): Isolation {
  const v = env['TSBUILD_ISOLATION'];
  if (v === 'oci' || v === 'rootless' || v === 'chroot') return v;
  return (process.getuid?.() ?? 0) === 0 ? 'oci' : 'rootless';
}

export function defaultRunOptions(): RunOptions {
  return { isolation: defaultIsolation(), network: 'host', secrets: new Map(), seccomp: true };
}

/** `--secret id=x,src=FILE` (also `source=`, `type=file`) or `id=x,env=VAR` (`type=env`, `src=VAR`). */
export function parseSecretSpec(spec: string): [string, SecretSource] {
  const kv = new Map<string, string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`invalid --secret "${spec}": expected id=ID,src=FILE or id=ID,env=VAR`);
    kv.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1));
  }
  const id = kv.get('id');
  const type = kv.get('type');
  const src = kv.get('src') ?? kv.get('source');
  const env = kv.get('env');
  for (const k of kv.keys()) if (!['id', 'type', 'src', 'source', 'env'].includes(k)) throw new Error(`invalid --secret "${spec}": unknown key ${k}`);
  if (!id) throw new Error(`invalid --secret "${spec}": id is required`);
  if (type !== undefined && type !== 'file' && type !== 'env') throw new Error(`invalid --secret "${spec}": type must be file or env`);
  if (env !== undefined) return [id, { env }];
  if (type === 'env') return [id, { env: src ?? id }];
  if (src === undefined) return [id, { env: id }]; // BuildKit: a bare id reads the env var of that name, else the file
  return [id, { file: src }];
}

/**
 * buildah's `--security-opt` values, as far as they mean something here: `seccomp=unconfined` turns
 * the RUN syscall filter off. Values that ask for what tsbuild does anyway are accepted (it applies no
 * SELinux label or AppArmor profile, and always sets no_new_privs); anything else is refused rather
 * than ignored.
 */
export function parseSecurityOpts(opts: string[]): { seccomp: boolean } {
  let seccomp = true;
  for (const raw of opts) {
    const o = raw.trim();
    const eq = o.search(/[=:]/);
    const key = eq < 0 ? o : o.slice(0, eq);
    const value = eq < 0 ? '' : o.slice(eq + 1);
    if (key === 'seccomp' && value === 'unconfined') seccomp = false;
    else if (key === 'seccomp') throw new Error(`--security-opt ${o}: seccomp profiles are not supported (the default filter, or seccomp=unconfined)`);
    else if ((key === 'label' && value === 'disable') || (key === 'apparmor' && value === 'unconfined')) continue;
    else if (key === 'no-new-privileges' && (value === '' || value === 'true')) continue;
    else throw new Error(`--security-opt ${o} is not supported (seccomp=unconfined, label=disable, apparmor=unconfined, no-new-privileges)`);
  }
  return { seccomp };
}
