// The registry client's HTTP/1.1 transport, on node:http and node:https: keep-alive connection
// pools per scheme, header values as undici gave them (a string, or an array when repeated), and a
// response body that can be dumped, read whole, or iterated as a stream.
//
// Why not undici: importing it costs 0.3–0.5 s of CPU here (over a hundred modules), more than a
// whole warm push needs; node:http is part of Node's startup snapshot and costs ~20 ms.
import * as http from 'node:http';
import type * as https from 'node:https';
import { createRequire } from 'node:module';
import { finished, type Readable } from 'node:stream';

// node:https (and with it node:tls) is loaded on the first https request: a push to an insecure
// registry speaking plain http never needs it, and loading it is a good part of such a push.
let httpsModule: typeof https | undefined;
const loadHttps = (): typeof https => (httpsModule ??= createRequire(import.meta.url)('node:https') as typeof https);

export interface TlsOptions {
  /** Trusted CAs; undefined means Node's built-in roots. */
  ca?: string[];
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
}

export interface HttpAgentOptions {
  tls: TlsOptions;
  /** Connections per scheme kept open for requests in parallel. */
  connections: number;
  /** Time allowed to establish a connection (TCP and TLS). */
  connectTimeoutMs: number;
  /** A request whose socket stays silent this long (no headers, no body bytes) fails. */
  idleTimeoutMs: number;
}

export type HeaderValue = string | string[] | undefined;

export interface HttpRequest {
  /** "https://host:port". */
  origin: string;
  /** Path and query: "/v2/…?x=y". */
  path: string;
  method: string;
  headers: Record<string, string>;
  /**
   * A whole body, or its parts in order, or a stream (both sent as they come: set content-length
   * yourself). A stream that fails fails the request with its error.
   */
  body?: Buffer | string | readonly Buffer[] | Readable | null;
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, HeaderValue>;
  body: ResponseBody;
}

/** A network failure with a code the retry logic knows (ETIMEDOUT). */
function codedError(message: string, code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** The response body: read it once, whole or as a stream of Buffers. */
export class ResponseBody implements AsyncIterable<Buffer> {
  constructor(private readonly msg: http.IncomingMessage) {}

  /** Read and discard the rest, so the connection can serve the next request. */
  dump(): Promise<void> {
    const msg = this.msg;
    if (msg.readableEnded || msg.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      msg.once('end', resolve);
      msg.once('close', resolve);
      msg.once('error', () => resolve());
      msg.resume();
    });
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = await this.buffer();
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
  }

  async text(): Promise<string> {
    return (await this.buffer()).toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  destroy(err?: Error): void {
    this.msg.destroy(err);
  }

  get stream(): Readable {
    return this.msg;
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return (this.msg as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  private async buffer(): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const c of this.msg as AsyncIterable<Buffer>) parts.push(c);
    return Buffer.concat(parts);
  }
}

/** node's headers, with every repeated header kept (www-authenticate may come twice). */
function responseHeaders(msg: http.IncomingMessage): Record<string, HeaderValue> {
  const out: Record<string, HeaderValue> = {};
  for (const [k, v] of Object.entries(msg.headersDistinct)) {
    if (v) out[k] = v.length === 1 ? v[0] : v;
  }
  return out;
}

export class HttpAgent {
  private readonly pool: http.AgentOptions;
  private readonly plain: http.Agent;
  private secureAgent: https.Agent | undefined;

  constructor(private readonly opts: HttpAgentOptions) {
    this.pool = { keepAlive: true, maxSockets: opts.connections, scheduling: 'lifo' };
    this.plain = new http.Agent(this.pool);
  }

  private get secure(): https.Agent {
    const { ca, cert, key, rejectUnauthorized } = this.opts.tls;
    return (this.secureAgent ??= new (loadHttps().Agent)({ ...this.pool, rejectUnauthorized, ...(ca ? { ca } : {}), ...(cert ? { cert, key } : {}) }));
  }

  request(req: HttpRequest): Promise<HttpResponse> {
    const url = new URL(req.origin);
    const isHttps = url.protocol === 'https:';
    const mod = isHttps ? loadHttps() : http;
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      const r = mod.request({
        agent: isHttps ? this.secure : this.plain,
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || (isHttps ? 443 : 80),
        method: req.method,
        path: req.path,
        headers: req.headers,
        timeout: this.opts.idleTimeoutMs,
      });
      const fail = (e: Error): void => {
        if (settled) return;
        settled = true;
        reject(e);
      };
      r.on('error', fail);
      r.on('response', (msg) => {
        settled = true;
        // A connection cut mid-body errors the body; whoever reads it sees that, and nobody reading
        // yet must not make it an uncaught exception.
        msg.on('error', () => undefined);
        resolve({ statusCode: msg.statusCode ?? 0, headers: responseHeaders(msg), body: new ResponseBody(msg) });
      });
      // Connecting gets its own deadline; after that, a silent socket fails the request (or its body).
      r.on('socket', (socket) => {
        const connecting = (socket as { connecting?: boolean }).connecting;
        if (!connecting) return;
        const timer = setTimeout(() => r.destroy(codedError(`connect timeout after ${this.opts.connectTimeoutMs} ms`, 'ETIMEDOUT')), this.opts.connectTimeoutMs);
        timer.unref();
        socket.once(isHttps ? 'secureConnect' : 'connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      r.on('timeout', () => r.destroy(codedError(`no data for ${this.opts.idleTimeoutMs} ms`, 'ETIMEDOUT')));
      const body = req.body;
      if (body == null) r.end();
      else if (typeof body === 'string' || Buffer.isBuffer(body)) r.end(body);
      else if (isReadable(body)) {
        // finished() also reports a stream that failed before we got it (it may have been read
        // ahead while the request was being prepared): the request must fail, not wait for bytes.
        finished(body, { writable: false }, (e) => {
          if (e) r.destroy(e);
        });
        body.pipe(r);
      } else writeParts(r, body);
    });
  }

  /** Close every connection; requests still running fail. */
  async close(): Promise<void> {
    this.plain.destroy();
    this.secureAgent?.destroy();
  }
}

/** Send a body given in parts, honouring backpressure; the request's own 'error' reports failures. */
function writeParts(r: http.ClientRequest, parts: readonly Buffer[]): void {
  let i = 0;
  const more = (): void => {
    while (i < parts.length) {
      if (!r.write(parts[i++]!)) {
        r.once('drain', more);
        return;
      }
    }
    r.end();
  };
  more();
}

function isReadable(body: readonly Buffer[] | Readable): body is Readable {
  return typeof (body as Readable).pipe === 'function';
}
