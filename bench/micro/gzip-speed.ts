// Compares the parallel gzip writer with zlib's single-threaded stream on one file.
//   node dist/bench/micro/gzip-speed.js FILE [level]
import { createReadStream } from 'node:fs';
import { createGzip } from 'node:zlib';
import { pgzip } from '../../cache/pgzip.js';

const [file, lvl = '6'] = process.argv.slice(2);
if (!file) throw new Error('usage: gzip-speed FILE [level]');
const level = Number(lvl);

async function drain(it: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of it) n += c.length;
  return n;
}

for (const [name, run] of [
  ['pgzip', () => drain(pgzip(createReadStream(file, { highWaterMark: 1 << 20 }), { level }))],
  ['zlib', () => drain(createReadStream(file, { highWaterMark: 1 << 20 }).pipe(createGzip({ level })))],
] as const) {
  const t = performance.now();
  const cpu = process.cpuUsage();
  const size = await run();
  const c = process.cpuUsage(cpu);
  console.log(`${name} level ${level}: ${((performance.now() - t) / 1000).toFixed(2)} s wall, main-thread+workers cpu ${((c.user + c.system) / 1e6).toFixed(2)} s, ${size} bytes`);
}
