// Turning HTTP and socket failures into one-line UserErrors that name the image reference, and
// deciding which failures are worth retrying. Nothing here ever includes a header value, so
// credentials and tokens cannot leak into a message.
import type { HttpResponse } from './http.js';
import { UserError } from '../../oci/errors.js';

/** Collapse whitespace so registry-supplied text cannot break the one-line rule. */
export function oneLine(s: string, max = 300): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}

export function errorCode(e: unknown): string | undefined {
  // An HTTP client may wrap the interesting failure (a TLS verification code, ECONNRESET) in
  // `cause`; prefer the most specific code found along the chain.
  const generic = new Set(['UND_ERR_SOCKET', 'UND_ERR_CONNECT', 'ERR_ASSERTION']);
  let fallback: string | undefined;
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur && typeof cur === 'object'; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (!generic.has(code)) return code;
      fallback ??= code;
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return fallback;
}

const RETRYABLE_NET = new Set([
  'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/** Transient network failures: the same request may well succeed a moment later. */
export function isRetryableNetworkError(e: unknown): boolean {
  if (e instanceof UserError) return false;
  const code = errorCode(e);
  if (code && RETRYABLE_NET.has(code)) return true;
  // A peer that hung up: "socket hang up" before the answer, "aborted" in the middle of a body.
  return /other side closed|socket hang up|terminated|^aborted$/i.test((e as Error)?.message ?? '');
}

export function isTlsError(e: unknown): boolean {
  const code = errorCode(e) ?? '';
  return /CERT|SSL|TLS|EPROTO|UNABLE_TO_|SELF_SIGNED|ALTNAME/.test(code);
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

/** A short description of a network failure ("ECONNREFUSED", "TLS: self-signed certificate"). */
export function describeNetworkError(e: unknown): string {
  const code = errorCode(e);
  const msg = (e as Error)?.message ?? String(e);
  // OpenSSL's "wrong version number": the server answered the TLS hello in plain HTTP.
  if (code === 'EPROTO' && /wrong version number|packet length too long|http request/i.test(msg)) {
    return 'the server gave an HTTP response to an HTTPS client (a plain-http registry: use --tls-verify=false, or mark it insecure in registries.conf)';
  }
  if (isTlsError(e)) return `TLS verification failed (${code ?? oneLine(msg, 120)})`;
  return code ? `${code}${msg && !msg.includes(code) ? ` (${oneLine(msg, 120)})` : ''}` : oneLine(msg, 160);
}

export interface RegistryErrorBody {
  errors?: { code?: string; message?: string }[];
}

/** Read a registry error body ({"errors":[{code,message}]}) into "CODE: message", best effort. */
export async function readErrorBody(res: HttpResponse): Promise<string> {
  let text = '';
  try {
    text = await res.body.text();
  } catch {
    return '';
  }
  try {
    const j = JSON.parse(text) as RegistryErrorBody;
    const first = j.errors?.[0];
    if (first) return oneLine([first.code, first.message].filter(Boolean).join(': '), 200);
  } catch {
    /* not JSON: fall through */
  }
  return oneLine(text, 120);
}

export function statusText(status: number): string {
  const names: Record<number, string> = {
    400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
    408: 'Request Timeout', 416: 'Range Not Satisfiable', 429: 'Too Many Requests', 500: 'Internal Server Error',
    502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
  };
  return `${status}${names[status] ? ' ' + names[status] : ''}`;
}
