// Which scheme an insecure registry on an explicit port is spoken to with. A fake server (a raw TCP
// socket) records the first byte of every connection: 0x16 opens a TLS handshake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { RegistryClient } from '../../registry/distribution/client.js';

interface RawServer {
  port: number;
  /** The first byte of every connection's first data. */
  firstBytes: number[];
  close(): Promise<void>;
}

/** A raw TCP server: `onFirstData` answers (or not) each connection's first data. */
async function rawServer(onFirstData: (socket: Socket, data: Buffer) => void): Promise<RawServer> {
  const firstBytes: number[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.once('data', (d) => {
      firstBytes.push(d[0]!);
      onFirstData(s, d);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    firstBytes,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** Answers every plain HTTP request with `answer`; a TLS hello gets the connection closed. */
function fakeRegistry(answer: string): Promise<RawServer> {
  return rawServer((s, d) => (d[0] === 0x16 ? s.destroy() : s.end(answer)));
}

function clientFor(port: number, opts: { insecure: boolean; retries?: number; creds?: { username: string; password: string } }): Promise<RegistryClient> {
  return RegistryClient.create({
    registry: `127.0.0.1:${port}`,
    repository: 'x/y',
    reference: `127.0.0.1:${port}/x/y:latest`,
    insecure: opts.insecure,
    perHostCertDirs: [],
    ...(opts.creds ? { creds: opts.creds } : {}),
    retry: { retries: opts.retries ?? 0, baseDelayMs: 1, maxDelayMs: 1 },
    push: true,
  });
}

async function ping(port: number, insecure: boolean): Promise<void> {
  const client = await clientFor(port, { insecure });
  try {
    await client.ping();
  } finally {
    await client.close();
  }
}

const REGISTRY_200 = 'HTTP/1.1 200 OK\r\nDocker-Distribution-Api-Version: registry/2.0\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}';
const REGISTRY_401 = 'HTTP/1.1 401 Unauthorized\r\nWww-Authenticate: Basic realm="r"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';

test('an insecure plain-http registry on an explicit port is never offered a TLS handshake', async () => {
  for (const answer of [REGISTRY_200, REGISTRY_401]) {
    const reg = await fakeRegistry(answer);
    try {
      await ping(reg.port, true);
      assert.ok(reg.firstBytes.length >= 1);
      assert.ok(!reg.firstBytes.includes(0x16), `a TLS handshake was attempted (${answer.split('\r\n')[0]})`);
    } finally {
      await reg.close();
    }
  }
});

test('a port that does not answer plain HTTP as a registry is tried with TLS next', async () => {
  // What Go's TLS server says to plain HTTP: then https must be tried (and fails here: no TLS).
  const reg = await fakeRegistry('HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');
  try {
    await assert.rejects(ping(reg.port, true), /does not look like a registry|400/);
    assert.ok(reg.firstBytes.includes(0x16), 'https was not tried');
  } finally {
    await reg.close();
  }
});

test('a registry that is not insecure is only spoken to over TLS', async () => {
  const reg = await fakeRegistry(REGISTRY_200);
  try {
    await assert.rejects(ping(reg.port, false));
    assert.deepEqual([...new Set(reg.firstBytes)], [0x16]);
  } finally {
    await reg.close();
  }
});

test('while the plain-http probe is on its way, a HEAD already goes out (one round trip less), without credentials', async () => {
  const events: string[] = [];
  const reg = await rawServer((s, d) => {
    const head = d.toString('latin1');
    const line = head.split('\r\n')[0]!;
    events.push(`got ${line}${/\r\nauthorization:/i.test(head) ? ' (with credentials)' : ''}`);
    if (line.startsWith('GET /v2/ ')) {
      // The ping's answer is held back: the HEAD must not wait for it.
      setTimeout(() => {
        events.push('answered ping');
        s.end(REGISTRY_200);
      }, 300);
    } else s.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  const client = await clientFor(reg.port, { insecure: true, creds: { username: 'u', password: 'p' } });
  try {
    client.startPing();
    const res = await client.send({ method: 'HEAD', url: '/v2/x/y/blobs/sha256:' + 'a'.repeat(64), ok: [200, 404], what: 'checking blob' });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
  } finally {
    await client.close();
    await reg.close();
  }
  const head = events.findIndex((e) => e.startsWith('got HEAD'));
  assert.ok(head >= 0, events.join('; '));
  assert.ok(head < events.indexOf('answered ping'), `the HEAD waited for the ping: ${events.join('; ')}`);
  assert.equal(events.filter((e) => e.includes('with credentials')).length, 0, events.join('; '));
  assert.equal(events.filter((e) => e.startsWith('got HEAD')).length, 1, `the HEAD was sent again: ${events.join('; ')}`);
});

test('a port that says nothing to plain HTTP is tried with TLS after a short wait', async () => {
  // Some TLS servers stay silent on bytes that are not a handshake: the probe must not wait for the
  // idle timeout (minutes) before https gets its turn.
  const reg = await rawServer((s, d) => {
    if (d[0] === 0x16) s.destroy();
  });
  const firstBytes = reg.firstBytes;
  const client = await clientFor(reg.port, { insecure: true });
  try {
    client.startPing();
    const deadline = Date.now() + 20_000;
    while (!firstBytes.includes(0x16) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(firstBytes.includes(0x16), 'https was never tried');
  } finally {
    await client.close();
    await reg.close();
  }
});

test('an insecure registry port nobody listens on is not tried with TLS as well', async () => {
  const client = await clientFor(9, { insecure: true, retries: 1 });
  const origins: string[] = [];
  client.agent.request = async (req) => {
    origins.push(req.origin);
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
  };
  try {
    await assert.rejects(client.ping(), /ECONNREFUSED/);
    // The probe, then the http attempt the error is reported from; never https.
    assert.ok(origins.length >= 2, origins.join(' '));
    assert.deepEqual(origins.filter((o) => !o.startsWith('http://')), [], origins.join(' '));
  } finally {
    await client.close();
  }
});
