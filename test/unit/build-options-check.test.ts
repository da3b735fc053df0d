// build() options from JavaScript or JSON: bad values are one UserError naming the option, never a
// silent fallback (format 'bogus' used to build a Docker-format image) or a TypeError from deep inside.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type BuildOptions } from '../../builder/build.js';
import { isUserError } from '../../oci/errors.js';

test('bad build options are refused before anything runs, naming the option', async () => {
  const ctx = mkdtempSync(join(tmpdir(), 'tsbuild-opts-'));
  writeFileSync(join(ctx, 'Containerfile'), 'FROM scratch\n');
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ format: 'bogus' }, /invalid build option format: "bogus"; expected oci, docker/],
    [{ compression: 'lz4' }, /invalid build option compression/],
    [{ pull: 'sometimes' }, /invalid build option pull/],
    [{ isolation: 'vm' }, /invalid build option isolation/],
    [{ network: 'bridge' }, /invalid build option network/],
    [{ jobs: -3 }, /invalid build option jobs: -3/],
    [{ jobs: 1.5 }, /invalid build option jobs/],
    [{ timestamp: 'yesterday' }, /invalid build option timestamp/],
    [{ tags: 'notAnArray' }, /invalid build option tags/],
    [{ buildArgs: { A: 1 } }, /invalid build option buildArgs/],
    [{ platform: 7 }, /invalid build option platform/],
    [{ compressionLevel: 'max' }, /invalid build option compressionLevel/],
  ];
  for (const [bad, message] of cases) {
    await assert.rejects(build({ context: ctx, root: join(ctx, 'store'), ...bad } as unknown as BuildOptions), (e: unknown) => isUserError(e) && message.test(e.message), JSON.stringify(bad));
  }
});
