// A fault-injecting HTTP reverse proxy in front of a test registry. It forwards requests unchanged
// (Host included, so the registry's upload Locations point back at the proxy), records each one,
// and lets a test arrange faults: answer a status N times, drop the connection mid-body, or flip
// one byte of a response body.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { freePort } from './registry-server.js';

export type Fault =
  | { kind: 'status'; status: number; times: number; match: (r: SeenRequest) => boolean }
  /** Send `afterBytes` bytes of the response body, then destroy the socket. */
  | { kind: 'drop'; afterBytes: number; times: number; match: (r: SeenRequest) => boolean }
  /** XOR one byte at `offset` of the response body (Content-Length unchanged). */
  | { kind: 'flip'; offset: number; times: number; match: (r: SeenRequest) => boolean };

export interface SeenRequest {
  method: string;
  url: string;
  range?: string;
  status?: number;
  injected?: Fault['kind'];
}

export interface FaultProxy {
  host: string;
  requests: SeenRequest[];
  faults: Fault[];
  stop(): Promise<void>;
}

export async function startFaultProxy(upstreamHost: string): Promise<FaultProxy> {
  const [uhost, uport] = upstreamHost.split(':');
  const requests: SeenRequest[] = [];
  const faults: Fault[] = [];
  const take = (seen: SeenRequest): Fault | undefined => {
    const f = faults.find((x) => x.times > 0 && x.match(seen));
    if (f) f.times--;
    return f;
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const seen: SeenRequest = { method: req.method ?? 'GET', url: req.url ?? '/', range: req.headers.range };
    requests.push(seen);
    const fault = take(seen);
    if (fault?.kind === 'status') {
      seen.injected = 'status';
      seen.status = fault.status;
      req.resume();
      req.on('end', () => res.writeHead(fault.status, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}'));
      return;
    }
    const up = request({ host: uhost, port: Number(uport), method: req.method, path: req.url, headers: req.headers }, (ures) => {
      seen.status = ures.statusCode;
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      let offset = 0;
      ures.on('data', (chunk: Buffer) => {
        if (fault?.kind === 'drop') {
          seen.injected = 'drop';
          const room = fault.afterBytes - offset;
          if (room <= 0) return;
          res.write(chunk.subarray(0, room));
          offset += chunk.length;
          if (offset >= fault.afterBytes) {
            // Let the partial bytes leave, then cut the connection without finishing the body.
            setTimeout(() => res.socket?.destroy(), 20);
            ures.destroy();
          }
          return;
        }
        if (fault?.kind === 'flip' && fault.offset >= offset && fault.offset < offset + chunk.length) {
          seen.injected = 'flip';
          chunk = Buffer.from(chunk);
          chunk[fault.offset - offset] ^= 0xff;
        }
        offset += chunk.length;
        res.write(chunk);
      });
      ures.on('end', () => res.end());
      ures.on('error', () => res.destroy());
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${port}`,
    requests,
    faults,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
