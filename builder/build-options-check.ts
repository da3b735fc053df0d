// build()'s options as a JavaScript caller or a JSON config may give them: the types say what is
// allowed, this says it at run time, in one UserError naming the option (not a CLI flag, not a
// TypeError from deep inside, and never a silent fallback such as a Docker-format image for
// `format: 'bogus'`).
import { UserError } from '../oci/errors.js';

interface Checked {
  format?: unknown;
  compression?: unknown;
  pull?: unknown;
  isolation?: unknown;
  network?: unknown;
  jobs?: unknown;
  timestamp?: unknown;
  sourceDateEpoch?: unknown;
  tags?: unknown;
  buildArgs?: unknown;
  platform?: unknown;
  context?: unknown;
  compressionLevel?: unknown;
}

function oneOf(name: string, value: unknown, allowed: readonly string[]): void {
  if (value !== undefined && !allowed.includes(value as string)) {
    throw new UserError(`invalid build option ${name}: ${JSON.stringify(value)}; expected ${allowed.join(', ')}`);
  }
}

function wholeNumber(name: string, value: unknown, min: number): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= min)) {
    throw new UserError(`invalid build option ${name}: ${JSON.stringify(value)}; expected a whole number of at least ${min}`);
  }
}

export function checkBuildOptions(o: Checked): void {
  if (typeof o.context !== 'string') throw new UserError('invalid build option context: expected a directory path');
  if (o.platform !== undefined && typeof o.platform !== 'string') throw new UserError('invalid build option platform: expected os/arch[/variant]');
  if (o.compressionLevel !== undefined && !Number.isInteger(o.compressionLevel)) throw new UserError(`invalid build option compressionLevel: ${JSON.stringify(o.compressionLevel)}`);
  oneOf('format', o.format, ['oci', 'docker']);
  oneOf('compression', o.compression, ['gzip', 'zstd', 'none']);
  oneOf('pull', o.pull, ['missing', 'always', 'never']);
  oneOf('isolation', o.isolation, ['oci', 'rootless', 'chroot']);
  oneOf('network', o.network, ['host', 'private', 'none']);
  wholeNumber('jobs', o.jobs, 1);
  wholeNumber('timestamp', o.timestamp, 0);
  wholeNumber('sourceDateEpoch', o.sourceDateEpoch, 0);
  if (o.tags !== undefined && !(Array.isArray(o.tags) && o.tags.every((t) => typeof t === 'string'))) {
    throw new UserError(`invalid build option tags: expected an array of names`);
  }
  const args = o.buildArgs instanceof Map ? [...o.buildArgs.values()] : o.buildArgs !== undefined && o.buildArgs !== null ? Object.values(o.buildArgs) : [];
  if (!args.every((v) => typeof v === 'string')) throw new UserError(`invalid build option buildArgs: every value must be a string`);
}
