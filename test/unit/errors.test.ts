import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StepFailedError } from '../../oci/errors.js';

test('a failed RUN exits with its own status; a killed one, or a status no process can exit with, with 1', () => {
  const at = { file: 'Containerfile', line: 3 };
  assert.equal(new StepFailedError('RUN exited with status 7', { status: 7, location: at }).exitCode, 7);
  assert.equal(new StepFailedError('x', { status: 255 }).exitCode, 255);
  assert.equal(new StepFailedError('x', { status: 137, signal: 'SIGKILL' }).exitCode, 1, 'not 137: that would read as the builder killed');
  assert.equal(new StepFailedError('x', { status: 0 }).exitCode, 1, 'a failure never exits 0');
  assert.equal(new StepFailedError('x', { status: 256 }).exitCode, 1);
});
