// The registry flags pull, push, build and login share, named as podman's and buildah's, and
// turning them into the library's RegistryOptions.
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { RegistryOptions } from '../../registry/distribution/options.js';
import { parsePlatform } from '../../oci/platform.js';
import type { Platform } from '../../oci/types.js';
import { UserError } from '../../oci/errors.js';
import { goBooleanOptions } from './common.js';

export interface RegistryFlags {
  creds?: string;
  authfile?: string;
  certDir?: string;
  tlsVerify?: boolean;
  retry?: number;
  registriesConf?: string;
}

function parseCount(flag: string) {
  return (v: string): number => {
    if (!/^[0-9]+$/.test(v)) throw new InvalidArgumentError(`${flag} must be a whole number, got "${v}"`);
    return Number(v);
  };
}

/** Options for reaching registries; `login` takes only the TLS and auth-file ones. */
export function tlsOptions(cmd: Command): Command {
  cmd
    .option('--authfile <path>', 'auth file to read and write (default: $REGISTRY_AUTH_FILE, then podman\'s auth.json)')
    .option('--cert-dir <dir>', 'use the CA certificates (*.crt) and client keys in this directory');
  // A Go-style boolean as podman's: `--tls-verify IMAGE` keeps IMAGE as the argument.
  return goBooleanOptions(cmd, [{ name: 'tls-verify', description: 'require https with a verified certificate (--tls-verify=false allows http)' }]);
}

export function registryOptions(cmd: Command): Command {
  return tlsOptions(cmd)
    .option('--creds <user:pass>', 'credentials for the registry (beats every auth file)')
    .addOption(new Option('--retry <n>', 'retries after a failed request (429, 5xx, dropped connection)').argParser(parseCount('--retry')))
    .option('--registries-conf <file>', 'registries.conf to use (default: $CONTAINERS_REGISTRIES_CONF, then the system one)');
}

export function toRegistryOptions(flags: RegistryFlags): RegistryOptions {
  const o: RegistryOptions = {};
  if (flags.creds !== undefined) o.creds = flags.creds;
  if (flags.authfile !== undefined) o.authfile = flags.authfile;
  if (flags.certDir !== undefined) o.certDir = flags.certDir;
  if (flags.tlsVerify !== undefined) o.tlsVerify = flags.tlsVerify;
  if (flags.retry !== undefined) o.retries = flags.retry;
  if (flags.registriesConf !== undefined) o.registriesConf = flags.registriesConf;
  return o;
}

export function platformFlag(value: string | undefined): Platform | undefined {
  if (value === undefined) return undefined;
  const p = parsePlatform(value);
  if (!p) throw new UserError(`--platform must be OS/ARCH[/VARIANT], got "${value}"`);
  return p;
}
