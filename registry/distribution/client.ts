// The HTTP side of one repository on one registry: picking https (or http for insecure registries),
// authenticating, following redirects, retrying transient failures, and turning whatever is left
// into one-line UserErrors naming the image reference.
import type { Readable } from 'node:stream';
import { UserError } from '../../oci/errors.js';
import { AuthSession } from '../auth/session.js';
import { BlobLocations } from './blob-locations.js';
import type { Credentials } from '../auth/credentials.js';
import { describeNetworkError, errorCode, isRetryableNetworkError, isRetryableStatus, isTlsError, readErrorBody, statusText } from './errors.js';
import { backoffDelay, sleep, type RetryPolicy } from './retry.js';
import { HttpAgent, type HttpResponse } from './http.js';
import { loadTlsSettings } from './tls.js';
import type { ProgressEvent } from './progress.js';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ClientConfig {
  /** Registry as written in references: "docker.io", "127.0.0.1:5000". */
  registry: string;
  /** Repository path: "library/busybox". */
  repository: string;
  /** For messages: the image reference. */
  reference: string;
  /** http allowed and TLS not verified (registries.conf `insecure`, or --tls-verify=false). */
  insecure: boolean;
  certDir?: string;
  perHostCertDirs?: string[];
  creds?: Credentials;
  retry: RetryPolicy;
  /** Push needs "pull,push" on the repository; pull only "pull". */
  push: boolean;
  onProgress?: (ev: ProgressEvent) => void;
  /** Where blobs were seen, for cross-repository mounts (default: this process's memory only). */
  blobLocations?: BlobLocations;
}

export interface RegistryRequest {
  method: Method;
  /** A path ("/v2/…") on the registry, or an absolute URL (upload locations, redirects). */
  url: string;
  headers?: Record<string, string>;
  /**
   * Buffers (or parts, sent in order) are sent again by retries and after a 401. A stream is read
   * once: it gets one attempt, and a 401 or retryable status comes back as a RetryableStatus.
   */
  body?: Buffer | string | readonly Buffer[] | Readable;
  /** Token scopes; default: this repository with pull (and push for destinations). */
  scopes?: string[];
  /** Statuses handed back to the caller; anything else becomes an error. */
  ok: number[];
  /** What we were doing, for messages: "fetching manifest". */
  what: string;
}

/** The API host behind a registry name: Docker Hub's name is not its API endpoint. */
export function apiHost(registry: string): string {
  return registry === 'docker.io' ? 'registry-1.docker.io' : registry;
}

export class RegistryClient {
  readonly agent: HttpAgent;
  readonly auth: AuthSession;
  private origin: string | undefined;
  private pinging: Promise<void> | undefined;
  /** A ping begun by startPing(), handed to the first request (so it sees that ping's failure). */
  private early: Promise<void> | undefined;
  private closed = false;
  /** The http origin an insecure registry's plain-http probe (pingPlainFirst) is asking, while it does. */
  private probing: string | undefined;

  private constructor(readonly config: ClientConfig, agent: HttpAgent) {
    this.agent = agent;
    this.auth = new AuthSession(agent, config.creds, config.reference);
  }

  /** Where blobs were seen (cross-repository mounts); saved when the client is closed. */
  get blobLocations(): BlobLocations {
    return this.config.blobLocations ?? BlobLocations.for(undefined);
  }

  static async create(config: ClientConfig): Promise<RegistryClient> {
    const tls = await loadTlsSettings(apiHost(config.registry), { certDir: config.certDir, perHostCertDirs: config.perHostCertDirs, verify: !config.insecure });
    // One keep-alive pool per client; blobs in parallel each get a connection.
    const agent = new HttpAgent({ tls, connections: 8, connectTimeoutMs: 30_000, idleTimeoutMs: 300_000 });
    return new RegistryClient(config, agent);
  }

  get reference(): string {
    return this.config.reference;
  }

  get repository(): string {
    return this.config.repository;
  }

  defaultScopes(): string[] {
    return [`repository:${this.config.repository}:${this.config.push ? 'pull,push' : 'pull'}`];
  }

  /**
   * GET /v2/: picks the scheme and learns the auth challenge. https always first; http only for
   * insecure registries, as containers/image does (even for localhost).
   */
  ping(): Promise<void> {
    this.pinging ??= this.doPing().catch((e) => {
      this.pinging = undefined;
      throw e;
    });
    return this.pinging;
  }

  /**
   * Begin the ping now, while the caller prepares its first request (a push reads the image from
   * the store meanwhile): the first connection to a registry is the slowest step of a warm push.
   */
  startPing(): void {
    const p = this.ping();
    p.catch(() => undefined);
    this.early = p;
  }

  private async doPing(): Promise<void> {
    const host = apiHost(this.config.registry);
    let unreachable = false;
    if (this.config.insecure && /:\d+$/.test(host)) {
      this.probing = `http://${host}`;
      const probe = await this.pingPlainFirst(host).finally(() => (this.probing = undefined));
      if (probe === 'http') return;
      unreachable = probe === 'unreachable';
    }
    // A port that could not be reached over http cannot be over https either: only the retries remain.
    const origins = !this.config.insecure ? [`https://${host}`] : unreachable ? [`http://${host}`] : [`https://${host}`, `http://${host}`];
    const get = (origin: string) => this.agent.request({ origin, path: '/v2/', method: 'GET', headers: { 'user-agent': 'tsbuild' } });
    // An insecure registry is asked over http at the same time: when https turns out not to work
    // (most often: the registry does not speak TLS at all), that answer is already on its way.
    let early = origins.length > 1 ? get(origins[1]!) : undefined;
    early?.catch(() => undefined);
    for (const [i, origin] of origins.entries()) {
      let res: HttpResponse;
      if (i < origins.length - 1) {
        try {
          res = await get(origin);
        } catch {
          continue;
        }
        // https works: the http answer is not needed.
        early?.then((r) => r.body.dump(), () => undefined);
      } else {
        res = await this.withRetries('pinging registry', async () => {
          const pending = early;
          early = undefined;
          const r = await (pending ?? get(origin));
          if (isRetryableStatus(r.statusCode)) {
            await r.body.dump();
            throw new RetryableStatus(r.statusCode, r.headers['retry-after']);
          }
          return r;
        });
      }
      await res.body.dump();
      if (res.statusCode === 401) this.auth.learn(res.headers['www-authenticate']);
      else if (res.statusCode !== 200) {
        throw new UserError(`${this.reference}: ${host} does not look like a registry (GET /v2/ answered ${statusText(res.statusCode)})`);
      }
      this.origin = origin;
      return;
    }
  }

  /**
   * An insecure registry on an explicit port is asked over plain http first. One port speaks TLS
   * or plain HTTP, not both: when it answers plain HTTP as a registry does (200, or 401 with a
   * challenge), https there would fail anyway, and not trying it spares loading Node's TLS and a
   * handshake attempt on every command. A TLS port answers plain HTTP with 400 (Go, nginx) or
   * closes the connection; then the usual order follows (https, then http).
   */
  private async pingPlainFirst(host: string): Promise<'http' | 'unreachable' | 'not-http'> {
    let res: HttpResponse | undefined;
    const asked = this.agent.request({ origin: `http://${host}`, path: '/v2/', method: 'GET', headers: { 'user-agent': 'tsbuild' } });
    // A TLS server may say nothing at all to plain HTTP: after a short wait the usual order
    // (https and http at once) takes over, as it would have without this probe.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const silent = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), PLAIN_PROBE_WAIT_MS);
    });
    try {
      res = await Promise.race([asked, silent]);
    } catch (e) {
      // Nobody at that port (refused, no route, no such host) is so for https as well.
      return UNREACHABLE.has(errorCode(e) ?? '') ? 'unreachable' : 'not-http';
    } finally {
      clearTimeout(timer);
    }
    if (!res) {
      asked.then((late) => late.body.destroy(), () => undefined);
      return 'not-http';
    }
    await res.body.dump();
    if (res.statusCode === 200) {
      this.origin = `http://${host}`;
      return 'http';
    }
    if (res.statusCode === 401 && res.headers['www-authenticate']) {
      this.auth.learn(res.headers['www-authenticate']);
      this.origin = `http://${host}`;
      return 'http';
    }
    return 'not-http';
  }

  /** Resolve a Location header or path against the registry origin. */
  resolve(url: string): URL {
    return new URL(url, this.origin ?? `https://${apiHost(this.config.registry)}`);
  }

  /** Send a request with auth, redirects and retries; returns only statuses listed in `ok`. */
  async send(req: RegistryRequest): Promise<HttpResponse> {
    const early = this.early;
    this.early = undefined;
    const probing = this.probing;
    const speculative = probing && !isStream(req.body) ? this.once(req, true, { origin: probing, anonymous: true }).catch(() => undefined) : undefined;
    await (early ?? this.ping());
    if (speculative) {
      if (this.origin === probing) {
        const res = await speculative;
        if (res && res.statusCode !== 401 && !isRetryableStatus(res.statusCode)) return this.accept(req, res);
        await res?.body.dump();
      } else {
        // Not plain http after all: whatever that request gets (a TLS port may never answer it) is not waited for.
        void speculative.then((res) => res?.body.destroy());
      }
    }
    if (isStream(req.body)) return this.accept(req, await this.once(req, false));
    return this.withRetries(req.what, async () => this.accept(req, await this.once(req, true)));
  }

  private async accept(req: RegistryRequest, res: HttpResponse): Promise<HttpResponse> {
    if (req.ok.includes(res.statusCode)) return res;
    if (isRetryableStatus(res.statusCode)) {
      await res.body.dump();
      throw new RetryableStatus(res.statusCode, res.headers['retry-after']);
    }
    throw await this.statusError(req, res);
  }

  /**
   * One attempt: authorise, send, answer one 401 challenge, follow up to 5 redirects.
   * `speculative`: sent to that origin before the ping has picked one (see send()), without
   * credentials, a 401 handed back as it is.
   */
  private async once(req: RegistryRequest, replayable: boolean, speculative?: { origin: string; anonymous: true }): Promise<HttpResponse> {
    const scopes = req.scopes ?? this.defaultScopes();
    let url = speculative ? new URL(req.url, speculative.origin) : this.resolve(req.url);
    const registryOrigin = speculative?.origin ?? this.resolve('/').origin;
    let retriedAuth = !!speculative;
    for (let hop = 0; hop < 6; hop++) {
      const headers: Record<string, string> = { 'user-agent': 'tsbuild', ...req.headers };
      // Credentials go only to the registry itself, never to a redirect target (blob CDN).
      if (url.origin === registryOrigin && !speculative) {
        const authz = await this.auth.header(scopes);
        if (authz) headers.authorization = authz;
      }
      const res = await this.agent.request({ origin: url.origin, path: url.pathname + url.search, method: req.method, headers, body: req.body ?? null });
      if (res.statusCode === 401 && url.origin === registryOrigin && !retriedAuth) {
        await res.body.dump();
        retriedAuth = true;
        this.auth.invalidate(scopes);
        if (!this.auth.learn(res.headers['www-authenticate'])) {
          throw new UserError(`${req.what} for ${this.reference}: the registry asks for an authentication scheme tsbuild does not support`);
        }
        // A streamed body is gone: the caller sends it again, read anew, with the new token.
        if (!replayable) throw new RetryableStatus(401);
        continue;
      }
      const loc = res.headers.location;
      if ((req.method === 'GET' || req.method === 'HEAD') && [301, 302, 303, 307, 308].includes(res.statusCode) && loc) {
        await res.body.dump();
        url = new URL(Array.isArray(loc) ? loc[0] : loc, url);
        continue;
      }
      return res;
    }
    throw new UserError(`${req.what} for ${this.reference}: too many redirects`);
  }

  private async statusError(req: RegistryRequest, res: HttpResponse): Promise<UserError> {
    const detail = req.method === 'HEAD' ? '' : await readErrorBody(res);
    if (req.method === 'HEAD') await res.body.dump();
    const s = res.statusCode;
    let what = statusText(s);
    if (s === 401) what = this.auth.hasCredentials ? 'authentication failed: invalid username or password' : 'authentication required';
    else if (s === 403) what = 'access denied';
    return new UserError(`${req.what} for ${this.reference}: ${what}${detail ? ` (${detail})` : ''}`);
  }

  /** Run `fn`, retrying transient failures with backoff; the last failure becomes one UserError. */
  async withRetries<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const policy = this.config.retry;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (e instanceof UserError) throw e;
        const retryable = e instanceof RetryableStatus || isRetryableNetworkError(e);
        if (retryable && attempt < policy.retries && !this.closed) {
          const delay = backoffDelay(policy, attempt, e instanceof RetryableStatus ? e.retryAfter : undefined);
          this.config.onProgress?.({ type: 'retry', reference: this.reference, what, attempt: attempt + 1, delayMs: Math.round(delay), reason: e instanceof RetryableStatus ? statusText(e.status) : describeNetworkError(e) });
          await sleep(delay);
          continue;
        }
        throw this.finalError(what, e, attempt + 1);
      }
    }
  }

  finalError(what: string, e: unknown, attempts: number): UserError {
    if (e instanceof UserError) return e;
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    if (e instanceof RetryableStatus) return new UserError(`${what} for ${this.reference}: registry answered ${statusText(e.status)}${tries}`);
    const host = apiHost(this.config.registry);
    const why = describeNetworkError(e);
    const hint = isTlsError(e) && !this.config.insecure && !why.includes('--tls-verify') ? ' (add its CA with --cert-dir, or use --tls-verify=false)' : '';
    return new UserError(`${what} for ${this.reference}: cannot talk to ${host}: ${why}${tries}${hint}`, { cause: e });
  }

  async close(): Promise<void> {
    // A ping started early and never awaited must not go on retrying after the caller is done.
    this.closed = true;
    await Promise.all([this.agent.close(), this.blobLocations.save()]);
  }
}

/** Connection failures that say nothing listens at a host:port, whatever the protocol. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** How long the plain-http probe of an insecure registry may take before https is tried as well. */
const PLAIN_PROBE_WAIT_MS = 2_000;

/** A status worth retrying (429/5xx), carried through withRetries. */
export class RetryableStatus extends Error {
  constructor(readonly status: number, readonly retryAfter?: string | string[]) {
    super(`status ${status}`);
  }
}

function isStream(body: RegistryRequest['body']): body is Readable {
  return typeof (body as Readable | undefined)?.pipe === 'function';
}
