// TLS trust for one registry: the system roots plus any CA files the user dropped in
//   --cert-dir DIR (used alone, as containers/image does), or
//   /etc/containers/certs.d/HOST[:PORT]/, /etc/docker/certs.d/HOST[:PORT]/, ~/.config/containers/certs.d/…
// `*.crt` are CAs; a `*.cert` + `*.key` pair is a client certificate (mutual TLS).
//
// NODE_EXTRA_CA_CERTS is honoured as Node does. The `tsbuild` command (bin/tsbuild) moves it to
// TSBUILD_EXTRA_CA_CERTS before Node starts, because Node parses the file at start-up on every
// command; here it is read only when a registry's certificate is verified.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type * as tls from 'node:tls';
import { UserError } from '../../oci/errors.js';

export interface TlsSettings {
  /** The system roots plus the CAs found; undefined for Node's own roots; empty when not verifying. */
  ca?: string[];
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
}

export function defaultPerHostCertDirs(): string[] {
  return ['/etc/containers/certs.d', '/etc/docker/certs.d', join(process.env.HOME || homedir(), '.config', 'containers', 'certs.d')];
}

export async function loadTlsSettings(host: string, opts: { certDir?: string; perHostCertDirs?: string[]; verify: boolean }): Promise<TlsSettings> {
  const dirs = opts.certDir ? [opts.certDir] : (opts.perHostCertDirs ?? defaultPerHostCertDirs()).map((d) => join(d, host));
  const settings: TlsSettings = { rejectUnauthorized: opts.verify };
  const extraCas: string[] = [];
  // Read synchronously: a host's certs.d is a few small files (most often none), and every
  // promise-based step would be a thread-pool round trip before the registry's first request.
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        if (opts.certDir) throw new UserError(`--cert-dir ${opts.certDir} does not exist`);
        continue;
      }
      throw new UserError(`cannot read certificate directory ${dir}: ${code}`);
    }
    for (const n of names) {
      if (n.endsWith('.crt')) extraCas.push(readFileSync(join(dir, n), 'utf8'));
      else if (n.endsWith('.cert')) {
        const keyName = n.slice(0, -'.cert'.length) + '.key';
        if (!names.includes(keyName)) throw new UserError(`client certificate ${join(dir, n)} has no matching ${keyName}`);
        settings.cert = readFileSync(join(dir, n), 'utf8');
        settings.key = readFileSync(join(dir, keyName), 'utf8');
      }
    }
  }
  // Not verifying, no roots are needed at all: an empty list spares building Node's root store
  // (~140 certificates, more with NODE_EXTRA_CA_CERTS) for the https attempt an insecure registry gets.
  if (!opts.verify) {
    settings.ca = [];
    return settings;
  }
  const envCas = casFromEnvironment(extraCas.length > 0);
  // Handing Node its ~140 roots as PEM again costs ~50 ms of parsing per TLS context: only when needed.
  if (extraCas.length > 0 || envCas.length > 0) {
    const { rootCertificates } = createRequire(import.meta.url)('node:tls') as typeof tls;
    settings.ca = [...rootCertificates, ...envCas, ...extraCas];
  }
  return settings;
}

/**
 * The CAs of NODE_EXTRA_CA_CERTS that an explicit `ca` list must repeat (Node adds them only to its
 * default list): the file moved aside by bin/tsbuild always, Node's own only when `explicit`.
 * An unreadable file is a warning, as it is for Node.
 */
function casFromEnvironment(explicit: boolean): string[] {
  const file = process.env.TSBUILD_EXTRA_CA_CERTS || (explicit ? process.env.NODE_EXTRA_CA_CERTS : undefined);
  if (!file) return [];
  try {
    return [readFileSync(file, 'utf8')];
  } catch (e) {
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(e as Error).message}`);
    return [];
  }
}
