// A real docker-registry (Debian's docker/distribution 2.8) on 127.0.0.1 for integration tests:
// plain http, htpasswd Basic auth, TLS with a CA made by openssl here, or `auth: token` backed by
// a tiny Bearer token server (node:http) that signs RS256 JWTs with a key+cert made by openssl.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer as netServer } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID, sign } from 'node:crypto';

export interface RegistryServerOptions {
  tls?: boolean;
  /** users for htpasswd (auth: 'basic') or the token server (auth: 'token'). */
  users?: Record<string, string>;
  auth?: 'none' | 'basic' | 'token';
  /** Token server grants anonymous pull when true. */
  anonymousPull?: boolean;
}

export interface TokenRequestLog {
  account?: string;
  scopes: string[];
  status: number;
}

export interface RegistryServer {
  /** "127.0.0.1:PORT" */
  host: string;
  port: number;
  url: string;
  dir: string;
  /** CA certificate (PEM) when tls is on. */
  caFile?: string;
  /** Directory holding only ca.crt: usable as --cert-dir. */
  certDir?: string;
  /** Token requests seen (auth: 'token'). */
  tokenRequests: TokenRequestLog[];
  logs(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = netServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/** CA + server cert for 127.0.0.1/localhost, written in `dir`. */
export async function makeCerts(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=tsbuild test CA'], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
  await writeFile(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf'], dir);
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

export async function startRegistry(opts: RegistryServerOptions = {}): Promise<RegistryServer> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const auth = opts.auth ?? 'none';
  const users = opts.users ?? {};
  const tokenRequests: TokenRequestLog[] = [];
  let tokenServer: Server | undefined;

  const lines = [
    'version: 0.1',
    'log:', '  level: info', '  accesslog:', '    disabled: false',
    'storage:', `  filesystem:`, `    rootdirectory: ${join(dir, 'data')}`, '  delete:', '    enabled: true',
    'http:', `  addr: ${host}`, '  secret: tsbuild-test-secret',
  ];
  let caFile: string | undefined;
  let certDir: string | undefined;
  if (opts.tls) {
    const c = await makeCerts(dir);
    caFile = c.ca;
    certDir = join(dir, 'certdir');
    execFileSync('mkdir', ['-p', certDir]);
    await writeFile(join(certDir, 'ca.crt'), await readFile(c.ca));
    lines.push('  tls:', `    certificate: ${c.cert}`, `    key: ${c.key}`);
  }
  if (auth === 'basic') {
    const entries = Object.entries(users).map(([u, p]) => execFileSync('htpasswd', ['-Bbn', u, p]).toString().trim());
    await writeFile(join(dir, 'htpasswd'), entries.join('\n') + '\n');
    lines.push('auth:', '  htpasswd:', '    realm: tsbuild-test', `    path: ${join(dir, 'htpasswd')}`);
  }
  if (auth === 'token') {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'token.key', '-out', 'token.crt', '-days', '2', '-subj', '/CN=tsbuild token signer'], dir);
    const key = await readFile(join(dir, 'token.key'), 'utf8');
    const certPem = await readFile(join(dir, 'token.crt'), 'utf8');
    const certDer = certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    const tport = await freePort();
    tokenServer = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const scopes = u.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
      let account: string | undefined;
      const authz = req.headers.authorization;
      if (authz?.startsWith('Basic ')) {
        const [user, ...rest] = Buffer.from(authz.slice(6), 'base64').toString().split(':');
        if (users[user] === undefined || users[user] !== rest.join(':')) {
          tokenRequests.push({ account: user, scopes, status: 401 });
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"invalid credentials"}');
          return;
        }
        account = user;
      }
      const access = scopes.map((s) => {
        const [type, name, actions] = s.split(':');
        const granted = account ? actions.split(',') : opts.anonymousPull ? actions.split(',').filter((a) => a === 'pull') : [];
        return { type, name, actions: granted };
      });
      const now = Math.floor(Date.now() / 1000);
      const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const head = b64({ typ: 'JWT', alg: 'RS256', x5c: [certDer] });
      const claims = b64({ iss: 'tsbuild-test-issuer', sub: account ?? '', aud: 'tsbuild-test', exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access });
      const sig = sign('sha256', Buffer.from(`${head}.${claims}`), key).toString('base64url');
      const token = `${head}.${claims}.${sig}`;
      tokenRequests.push({ account, scopes, status: 200 });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
    });
    await new Promise<void>((r) => tokenServer!.listen(tport, '127.0.0.1', r));
    lines.push('auth:', '  token:', `    realm: http://127.0.0.1:${tport}/token`, '    service: tsbuild-test', '    issuer: tsbuild-test-issuer', `    rootcertbundle: ${join(dir, 'token.crt')}`);
  }
  const cfg = join(dir, 'config.yml');
  await writeFile(cfg, lines.join('\n') + '\n');

  // The registry logs to a file, not a pipe: a pipe drained by this process's event loop fills up
  // while a test blocks in a synchronous CLI call, and the registry then stalls mid-request.
  const logFile = join(dir, 'registry.log');
  const logFd = openSync(logFile, 'a');
  const child: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', cfg], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const readLog = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const exited = new Promise<void>((r) => child.once('exit', () => r()));

  const url = `${opts.tls ? 'https' : 'http'}://${host}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${readLog()}`);
    if (await answers(url)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not answer /v2/ in time: ${readLog()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host, port, url, dir, caFile, certDir, tokenRequests,
    logs: readLog,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      if (tokenServer) await new Promise<void>((r) => tokenServer!.close(() => r()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = (url.startsWith('https') ? httpsRequest : httpRequest)(url + '/v2/', { rejectUnauthorized: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 || res.statusCode === 401);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}
