// A fault-injecting HTTP reverse proxy in front of a test registry. It forwards requests unchanged
// (Host included, so the registry's upload Locations point back at the proxy), records each one,
// and lets a test arrange faults: answer a status N times, drop the connection mid-body, reset it
// before any answer, answer slowly, or flip one byte of a response or request body. `chaos`, when
// set, picks a fault for any request no arranged fault matched (a soak's random faults).
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { freePort } from './registry-server.js';

export type Fault =
  | { kind: 'status'; status: number; times: number; match: (r: SeenRequest) => boolean }
  /** Send `afterBytes` bytes of the response body, then destroy the socket. */
  | { kind: 'drop'; afterBytes: number; times: number; match: (r: SeenRequest) => boolean }
  /** XOR one byte at `offset` of the response body (Content-Length unchanged). */
  | { kind: 'flip'; offset: number; times: number; match: (r: SeenRequest) => boolean }
  /** XOR one byte at `offset` of the request body on its way to the registry (a push corrupted in transit). */
  | { kind: 'flip-up'; offset: number; times: number; match: (r: SeenRequest) => boolean }
  /** Destroy the connection before answering (the request body unread). */
  | { kind: 'reset'; times: number; match: (r: SeenRequest) => boolean }
  /** Wait `delayMs` before forwarding, then pause `chunkDelayMs` before each response chunk. */
  | { kind: 'slow'; delayMs: number; chunkDelayMs: number; times: number; match: (r: SeenRequest) => boolean };

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
  /** Consulted for requests no entry of `faults` matched; `times` and `match` of its answer are ignored. */
  chaos?: (r: SeenRequest) => Fault | undefined;
  stop(): Promise<void>;
}

export async function startFaultProxy(upstreamHost: string): Promise<FaultProxy> {
  const [uhost, uport] = upstreamHost.split(':');
  const requests: SeenRequest[] = [];
  const faults: Fault[] = [];
  const take = (seen: SeenRequest): Fault | undefined => {
    const f = faults.find((x) => x.times > 0 && x.match(seen));
    if (f) f.times--;
    return f ?? proxy.chaos?.(seen);
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const seen: SeenRequest = { method: req.method ?? 'GET', url: req.url ?? '/', range: req.headers.range };
    requests.push(seen);
    const fault = take(seen);
    if (fault?.kind === 'reset') {
      seen.injected = 'reset';
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'slow') {
      seen.injected = 'slow';
      req.pause();
      setTimeout(() => forward(req, res, seen, fault), fault.delayMs);
      return;
    }
    if (fault?.kind === 'status') {
      seen.injected = 'status';
      seen.status = fault.status;
      req.resume();
      req.on('end', () => res.writeHead(fault.status, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}'));
      return;
    }
    forward(req, res, seen, fault);
  });
  const forward = (req: IncomingMessage, res: ServerResponse, seen: SeenRequest, fault: Fault | undefined): void => {
    const up = request({ host: uhost, port: Number(uport), method: req.method, path: req.url, headers: req.headers }, (ures) => {
      seen.status = ures.statusCode;
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      let offset = 0;
      if (fault?.kind === 'slow' && fault.chunkDelayMs > 0) {
        // One chunk at a time, each after a pause (a registry or network that trickles).
        ures.on('data', (chunk: Buffer) => {
          ures.pause();
          setTimeout(() => {
            res.write(chunk);
            ures.resume();
          }, fault.chunkDelayMs);
        });
        ures.on('end', () => setTimeout(() => res.end(), fault.chunkDelayMs + 1));
        ures.on('error', () => res.destroy());
        return;
      }
      ures.on('data', (chunk: Buffer) => {
        if (fault?.kind === 'drop') {
          seen.injected = 'drop';
          const room = fault.afterBytes - offset;
          if (room <= 0) return;
          res.write(chunk.subarray(0, room));
          offset += chunk.length;
          if (offset >= fault.afterBytes) {
            // Let the partial bytes leave, then cut the connection without finishing the body
            // (req.socket: res.socket is already gone once the upstream response is destroyed).
            setTimeout(() => req.socket.destroy(), 20);
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
    res.on('close', () => {
      // The client went away (or a fault cut it): do not leave the upstream request hanging.
      if (!res.writableFinished) up.destroy();
    });
    if (fault?.kind === 'flip-up') {
      let offset = 0;
      req.on('data', (chunk: Buffer) => {
        if (fault.offset >= offset && fault.offset < offset + chunk.length) {
          seen.injected = 'flip-up';
          chunk = Buffer.from(chunk);
          chunk[fault.offset - offset] ^= 0xff;
        }
        offset += chunk.length;
        if (!up.write(chunk)) {
          req.pause();
          up.once('drain', () => req.resume());
        }
      });
      req.on('end', () => up.end());
      req.resume();
      return;
    }
    req.pipe(up);
    req.resume();
  };
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const proxy: FaultProxy = {
    host: `127.0.0.1:${port}`,
    requests,
    faults,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return proxy;
}
