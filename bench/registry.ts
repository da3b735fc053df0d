// A throwaway docker-registry (Debian's docker/distribution) on 127.0.0.1, its storage in `dir`
// (on the registry's own loop file system, see run.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface Registry {
  host: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function startRegistry(dir: string): Promise<Registry> {
  mkdirSync(dir, { recursive: true });
  const host = `127.0.0.1:${await freePort()}`;
  const cfg = join(dir, 'config.yml');
  writeFileSync(cfg, [
    'version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true',
    'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'data')}`,
    'http:', `  addr: ${host}`, '  secret: tsbuild-bench',
  ].join('\n') + '\n');
  let output = '';
  const child: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 15_000;
  while (!(await answers(`http://${host}/v2/`))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
