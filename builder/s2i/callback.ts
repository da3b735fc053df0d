// --callback-url (s2i.md §E-10): when the build is over, successful or not, S2I POSTs
// `{"success": <bool>, "labels": {...}}` (application/json) to the URL, up to 3 attempts. The labels
// are the output image's (none when the build failed). A callback that cannot be delivered is a
// warning: the build's own result stands.
import { UserError } from '../../oci/errors.js';
import { basicAuth } from '../../registry/auth/token.js';

const ATTEMPTS = 3;

/** The URL checked before any work: only http(s) can receive a POST. */
export function parseCallbackUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`invalid --callback-url "${url}": not a URL`, { exitCode: 2 });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UserError(`invalid --callback-url "${url}": only http:// and https:// are supported`, { exitCode: 2 });
  return u;
}

export async function notifyCallback(url: URL, success: boolean, labels: Record<string, string>, warn: (m: string) => void): Promise<void> {
  const body = JSON.stringify({ success, labels });
  // user:password in the URL is HTTP basic auth (as Go's client sends it); fetch refuses such URLs,
  // and the address without it is what may appear in messages.
  const target = new URL(url.href);
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (target.username || target.password) {
    headers['Authorization'] = basicAuth(decodeURIComponent(target.username), decodeURIComponent(target.password));
    target.username = '';
    target.password = '';
  }
  let why = '';
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      const res = await fetch(target, { method: 'POST', headers, body, signal: AbortSignal.timeout(30_000) });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return;
      why = `HTTP ${res.status}`;
    } catch (e) {
      why = (e as Error).message;
    }
  }
  // Without the query and any user:password: the log must not carry credentials.
  warn(`callback to ${target.protocol}//${target.host}${target.pathname} failed after ${ATTEMPTS} attempts: ${why.split(target.href).join(target.origin + target.pathname)}`);
}
