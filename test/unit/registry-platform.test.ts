import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostPlatform, selectManifest } from '../../registry/distribution/platform.js';
import { backoffDelay } from '../../registry/distribution/retry.js';
import { isRetryableStatus } from '../../registry/distribution/errors.js';

const d = (architecture: string, variant?: string) => ({ mediaType: 'm', digest: `sha256:${architecture}${variant ?? ''}`, size: 1, platform: { os: 'linux', architecture, variant } });

test('platform selection with variants', () => {
  const index = { schemaVersion: 2 as const, manifests: [d('amd64'), d('arm', 'v6'), d('arm', 'v7'), d('arm64', 'v8')] };
  assert.equal(selectManifest(index, { os: 'linux', architecture: 'arm' }, 'r').digest, 'sha256:armv7');
  assert.equal(selectManifest(index, { os: 'linux', architecture: 'arm', variant: 'v6' }, 'r').digest, 'sha256:armv6');
  assert.equal(selectManifest(index, { os: 'linux', architecture: 'arm64' }, 'r').digest, 'sha256:arm64v8');
  assert.throws(() => selectManifest(index, { os: 'windows', architecture: 'amd64' }, 'docker://x'), /docker:\/\/x: no image for platform windows\/amd64/);
  assert.equal(hostPlatform().os, 'linux');
  assert.notEqual(hostPlatform().architecture, 'x64');
});

test('backoff doubles, honours Retry-After, is capped', () => {
  const p = { retries: 3, baseDelayMs: 100, maxDelayMs: 1000 };
  assert.ok(backoffDelay(p, 0) >= 75 && backoffDelay(p, 0) <= 125);
  assert.ok(backoffDelay(p, 2) >= 300 && backoffDelay(p, 2) <= 500);
  assert.equal(backoffDelay(p, 10), 1000);
  assert.equal(backoffDelay(p, 0, '0.5'), 500);
  assert.equal(backoffDelay(p, 0, '3600'), 1000);
  assert.ok([429, 500, 502, 503, 504].every(isRetryableStatus));
  assert.ok(![400, 401, 404, 501].some(isRetryableStatus));
});
