// s2iUsage(): run the builder's `usage` script and hand back what it printed (§L-2). The script is
// resolved like the others (--scripts-url, then the builder's label); missing is exit 11.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { build } from '../build.js';
import type { Puller } from '../solve/base-image.js';
import type { Isolation } from '../../native/index.js';
import type { Store } from '../../cache/store.js';
import { openStore, defaultStoreRoot } from '../../cache/store.js';
import { StepFailedError, UserError } from '../../oci/errors.js';
import { inspectBuilder, resolveAssembleUser, type PullPolicyS2I } from './builder-image.js';
import { renderMain } from './containerfile.js';
import { resolveScripts } from './scripts.js';

export interface S2IUsageOptions {
  builder: string;
  scriptsUrl?: string;
  destination?: string;
  assembleUser?: string;
  pullPolicy?: PullPolicyS2I;
  store?: Store;
  root?: string;
  puller?: Puller;
  isolation?: Isolation;
  /** the script's output, as it comes */
  onOutput?: (stream: 'stdout' | 'stderr', text: string) => void;
  signal?: AbortSignal;
}

export async function s2iUsage(opts: S2IUsageOptions): Promise<{ stdout: string }> {
  const store = opts.store ?? (await openStore(opts.root ?? defaultStoreRoot()));
  const builder = await inspectBuilder(store, opts.builder, opts.pullPolicy ?? 'if-not-present', opts.puller);
  const cfg = builder.config.config ?? {};
  const dest = opts.destination || cfg.Labels?.['io.openshift.s2i.destination'] || '/tmp';
  const work = await store.makeTempDir('s2i-usage');
  let stdout = '';
  let id: string | undefined;
  try {
    await fsp.mkdir(join(work, 'upload', 'src'), { recursive: true });
    const scripts = await resolveScripts({
      names: ['usage'],
      required: ['usage'],
      ...(opts.scriptsUrl ? { scriptsUrl: opts.scriptsUrl } : {}),
      uploadDir: join(work, 'upload', 'scripts'),
      dest,
      labels: cfg.Labels ?? {},
      env: cfg.Env ?? [],
      warn: () => undefined,
    });
    const user = resolveAssembleUser(opts.assembleUser, cfg);
    // The same shape as a build, with usage in place of assemble: the result is thrown away.
    const text = renderMain({ builder: builder.record.id, env: [], dest, chown: '0:0', ...(user ? { assembleUser: user } : {}), assemble: scripts.usage!.path, run: scripts.usage!.path });
    await fsp.writeFile(join(work, 'Containerfile'), text);
    try {
      const r = await build({
        context: work,
        store,
        pull: 'never',
        ...(opts.isolation ? { isolation: opts.isolation } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        onEvent: (ev) => {
          if (ev.type !== 'output') return;
          if (ev.stream === 'stdout') stdout += ev.text;
          opts.onOutput?.(ev.stream, ev.text);
        },
      });
      id = r.id;
    } catch (e) {
      if (e instanceof StepFailedError && !e.signal) throw new UserError(`usage script failed: non-zero (${e.status}) exit code from ${builder.name}`, { exitCode: e.status, cause: e });
      throw e;
    }
  } finally {
    if (id) {
      const rec = await store.images.resolve(id);
      if (rec && rec.names.length === 0) await store.images.remove(id).catch(() => undefined);
    }
    await store.removeTempDir(work);
  }
  return { stdout };
}
