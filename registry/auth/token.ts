// Bearer tokens from a registry's token server (docker/distribution "token" auth). Tokens are cached
// per (realm, service, scopes) until shortly before they expire, so one pull asks once per repo.
import type { HttpAgent, HttpResponse } from '../distribution/http.js';
import { UserError } from '../../oci/errors.js';
import type { Challenge } from './challenge.js';
import type { Credentials } from './credentials.js';

interface CachedToken {
  token: string;
  expiresAt: number;
}

export interface TokenRequest {
  challenge: Challenge;
  scopes: string[];
  creds?: Credentials;
  /** For messages only: the image reference being worked on. */
  reference: string;
}

export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(private readonly dispatcher: HttpAgent) {}

  async get(req: TokenRequest): Promise<string> {
    const key = cacheKey(req);
    const hit = this.tokens.get(key);
    if (hit && hit.expiresAt > Date.now()) return hit.token;
    // Several blobs start at once; let them share one token request.
    let p = this.inflight.get(key);
    if (!p) {
      p = this.fetch(req, key).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  invalidate(req: TokenRequest): void {
    this.tokens.delete(cacheKey(req));
  }

  private async fetch(req: TokenRequest, key: string): Promise<string> {
    const { realm, service } = req.challenge.params;
    if (!realm) throw new UserError(`authenticating for ${req.reference}: registry sent a Bearer challenge without a realm`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new UserError(`authenticating for ${req.reference}: registry sent an invalid token realm`);
    }
    const headers: Record<string, string> = { 'user-agent': 'tsbuild' };
    let method: 'GET' | 'POST' = 'GET';
    let body: string | undefined;
    if (req.creds?.identityToken) {
      // OAuth2 refresh-token grant, as docker does for identity tokens.
      method = 'POST';
      const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: 'tsbuild', refresh_token: req.creds.identityToken });
      if (service) form.set('service', service);
      if (req.scopes.length) form.set('scope', req.scopes.join(' '));
      body = form.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else {
      if (service) url.searchParams.set('service', service);
      for (const s of req.scopes) url.searchParams.append('scope', s);
      const c = req.creds;
      if (c && c.identityToken === undefined) {
        url.searchParams.set('account', c.username);
        headers.authorization = basicAuth(c.username, c.password);
      }
    }
    let res: HttpResponse;
    try {
      res = await this.dispatcher.request({ origin: url.origin, path: url.pathname + url.search, method, headers, body });
    } catch (e) {
      throw new UserError(`authenticating for ${req.reference}: cannot reach token server ${url.host}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
    if (res.statusCode === 401 || res.statusCode === 403) {
      await res.body.dump();
      throw new UserError(`authenticating for ${req.reference}: ${req.creds ? 'invalid username or password' : 'the registry requires credentials'} (token server answered ${res.statusCode})`);
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new UserError(`authenticating for ${req.reference}: token server ${url.host} answered ${res.statusCode}`);
    }
    const json = (await res.body.json().catch(() => ({}))) as { token?: string; access_token?: string; expires_in?: number };
    const token = json.token || json.access_token;
    if (!token) throw new UserError(`authenticating for ${req.reference}: token server ${url.host} returned no token`);
    // Spec default lifetime is 60 s; keep a margin so a token never expires mid-request.
    const life = Math.max(10, (json.expires_in ?? 60) - 10) * 1000;
    this.tokens.set(key, { token, expiresAt: Date.now() + life });
    return token;
  }
}

function cacheKey(req: TokenRequest): string {
  return [req.challenge.params.realm, req.challenge.params.service, ...[...req.scopes].sort()].join('\n');
}

export function basicAuth(username: string, password: string): string {
  return 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');
}
