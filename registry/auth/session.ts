// One registry's authentication state: the challenge learnt from the /v2/ ping, the credentials,
// and the token cache. The HTTP client asks it for an Authorization header per request scope.
import type { HttpAgent, HttpResponse } from '../distribution/http.js';
import { UserError } from '../../oci/errors.js';
import { parseChallenge, type Challenge } from './challenge.js';
import type { Credentials } from './credentials.js';
import { basicAuth, TokenCache } from './token.js';

export class AuthSession {
  private challenge: Challenge | undefined;
  private readonly tokens: TokenCache;

  constructor(
    dispatcher: HttpAgent,
    private readonly creds: Credentials | undefined,
    /** For messages: the image reference. */
    private readonly reference: string,
  ) {
    this.tokens = new TokenCache(dispatcher);
  }

  get hasCredentials(): boolean {
    return this.creds !== undefined;
  }

  /** Record the challenge of a 401 answer. Returns false when it cannot be answered. */
  learn(wwwAuthenticate: string | string[] | undefined): boolean {
    const c = parseChallenge(wwwAuthenticate);
    if (!c) return false;
    this.challenge = c;
    return true;
  }

  /** Forget a token that the registry just refused, so the next header asks anew. */
  invalidate(scopes: string[]): void {
    if (this.challenge?.scheme === 'bearer') this.tokens.invalidate({ challenge: this.challenge, scopes, reference: this.reference });
  }

  /** The Authorization header for a request needing `scopes`, or undefined when none is needed yet. */
  async header(scopes: string[]): Promise<string | undefined> {
    const c = this.challenge;
    if (!c) return undefined;
    if (c.scheme === 'basic') {
      if (!this.creds) throw new UserError(`authenticating for ${this.reference}: the registry requires a username and password`);
      if (this.creds.identityToken !== undefined) throw new UserError(`authenticating for ${this.reference}: the registry wants Basic auth but only an identity token is stored`);
      return basicAuth(this.creds.username, this.creds.password);
    }
    return 'Bearer ' + (await this.tokens.get({ challenge: c, scopes, creds: this.creds, reference: this.reference }));
  }
}
