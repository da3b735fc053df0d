// Worker thread of the parallel gzip writer: compresses the chunks it is sent, in the order sent.
import { parentPort } from 'node:worker_threads';
import { deflateChunk, type ChunkJob } from './pgzip-chunk.js';

parentPort!.on('message', (msg: ChunkJob & { id: number }) => {
  try {
    const r = deflateChunk(msg);
    // Hand the output's memory over instead of copying it (a fresh buffer when zlib returned a slice of its pool).
    const out = r.out.byteOffset === 0 && r.out.byteLength === r.out.buffer.byteLength ? r.out : Uint8Array.prototype.slice.call(r.out);
    // The input goes back too, for the sender to fill again (when it is a whole buffer of its own).
    const data = msg.data;
    const back = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer !== out.buffer;
    parentPort!.postMessage({ id: msg.id, out, crc: r.crc, stored: r.stored, ...(back ? { data } : {}) }, back ? [out.buffer as ArrayBuffer, data.buffer as ArrayBuffer] : [out.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e) });
  }
});
