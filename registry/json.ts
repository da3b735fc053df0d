// JSON read from outside the process is user input: a parse failure names where it came from.
import { UserError } from '../oci/errors.js';

export function parseJsonFrom<T>(bytes: Uint8Array | string, what: string): T {
  try {
    return JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8')) as T;
  } catch (e) {
    throw new UserError(`${what} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}
