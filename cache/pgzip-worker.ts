// Worker thread of the parallel gzip writer: compresses the chunks it is sent, in the order sent.
// For a stream with a memo of earlier chunks (pgzip-reuse.ts) it keys each chunk first and answers a
// known key instead of deflating; the sender then takes the bytes from the memo.
import { parentPort } from 'node:worker_threads';
import { chunkKey, deflateChunk, nativeCrc32, type ChunkJob } from './pgzip-chunk.js';

/** Keys the memo of each open stream knows. */
const known = new Map<number, Set<string>>();

type Message =
  | { kind: 'known'; stream: number; keys: string[] }
  | { kind: 'forget'; stream: number }
  | (ChunkJob & { kind?: undefined; id: number; stream?: number });

/** A whole buffer of its own can be handed over; a view into a pool cannot. */
function own(b: Uint8Array): boolean {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength;
}

parentPort!.on('message', (msg: Message) => {
  if (msg.kind === 'known') {
    known.set(msg.stream, new Set(msg.keys));
    return;
  }
  if (msg.kind === 'forget') {
    known.delete(msg.stream);
    return;
  }
  try {
    const data = msg.data;
    const key = msg.stream !== undefined ? chunkKey(msg.level, data) : undefined;
    if (key !== undefined && known.get(msg.stream!)?.has(key)) {
      // The input goes back: should the memo fail to produce the bytes, the sender deflates it. Its
      // CRC goes too, to be checked against the memo's (the gzip trailer is built from them).
      const crc = nativeCrc32(data);
      const back = own(data) ? data : Uint8Array.prototype.slice.call(data);
      parentPort!.postMessage({ id: msg.id, hit: true, key, crc, data: back }, [back.buffer as ArrayBuffer]);
      return;
    }
    const r = deflateChunk(msg);
    // Hand the output's memory over instead of copying it (a fresh buffer when zlib returned a slice of its pool).
    const out = own(r.out) ? r.out : Uint8Array.prototype.slice.call(r.out);
    // The input goes back too, for the sender to fill again (when it is a whole buffer of its own).
    const back = own(data) && data.buffer !== out.buffer;
    // A keyed chunk's bytes get their CRC here too, for the memo's index (pgzip-reuse.ts).
    const outCrc = key !== undefined ? nativeCrc32(out) : undefined;
    parentPort!.postMessage({ id: msg.id, out, crc: r.crc, stored: r.stored, key, outCrc, ...(back ? { data } : {}) }, back ? [out.buffer as ArrayBuffer, data.buffer as ArrayBuffer] : [out.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e) });
  }
});
