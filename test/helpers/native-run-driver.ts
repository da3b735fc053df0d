// Runs runContainer() with a JSON spec from argv[2] and prints one JSON line:
// { result | error, stdout, stderr }. Lets tests drive the runtime as another
// (unprivileged) user: `runuser -u tsbuild-test -- tsx native-run-driver.ts '{...}'`.
import { runContainer, detectIsolation, type RunSpec } from '../../native/index.js';

const input = JSON.parse(process.argv[2] ?? '{}') as Omit<RunSpec, 'stdout' | 'stderr' | 'signal'> & {
  detect?: boolean;
  abortAfterMs?: number;
};
if (input.detect) {
  process.stdout.write(JSON.stringify({ detect: detectIsolation() }) + '\n');
} else {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const ac = new AbortController();
  if (input.abortAfterMs !== undefined) setTimeout(() => ac.abort(), input.abortAfterMs);
  runContainer({ ...input, stdout: (b) => out.push(b), stderr: (b) => err.push(b), signal: ac.signal }).then(
    (result) => emit({ result }),
    (e: Error & { code?: string; exitCode?: number }) => emit({ error: { name: e.name, message: e.message, code: e.code, exitCode: e.exitCode } }),
  );
  function emit(o: object) {
    process.stdout.write(JSON.stringify({ ...o, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }) + '\n');
  }
}
