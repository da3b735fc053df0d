// A step's stdout/stderr → `output` events, one per complete line as it arrives (a partial line
// waits for its newline, or for the end of the step).
import type { EventSink } from '../events.js';

export class LineEmitter {
  private readonly partial = { stdout: '', stderr: '' };
  private readonly decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };

  constructor(
    private readonly emit: EventSink,
    private readonly stage: number,
    private readonly step: number,
  ) {}

  write(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    let text = this.partial[stream] + this.decoders[stream].decode(chunk, { stream: true });
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      this.emit({ type: 'output', stage: this.stage, step: this.step, stream, text: text.slice(0, nl + 1) });
      text = text.slice(nl + 1);
    }
    this.partial[stream] = text;
  }

  flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = this.partial[stream] + this.decoders[stream].decode();
      this.partial[stream] = '';
      if (rest !== '') this.emit({ type: 'output', stage: this.stage, step: this.step, stream, text: rest });
    }
  }
}
