// Backpressure helper for hand-fed streams (node or streamx writables).

interface WritableLike {
  write(chunk: Buffer): boolean;
  once(event: string, fn: (...args: unknown[]) => void): unknown;
  removeListener(event: string, fn: (...args: unknown[]) => void): unknown;
  destroyed?: boolean;
}

/** Write and wait for 'drain' when needed; rejects if the stream errors or closes instead of draining. */
export function writeChunk(w: WritableLike, chunk: Buffer): Promise<void> {
  if (w.destroyed) return Promise.reject(new Error('stream destroyed'));
  if (w.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: unknown) => {
      w.removeListener('drain', onDrain);
      w.removeListener('error', onError);
      w.removeListener('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (e: unknown) => done(e ?? new Error('stream error'));
    const onClose = () => done(new Error('stream closed'));
    w.once('drain', onDrain);
    w.once('error', onError);
    w.once('close', onClose);
  });
}
