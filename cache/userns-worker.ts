// The process cache/userns.ts starts inside a user namespace (as its root), once per tsbuild
// process: file operations on ids only real in there (unpack, commit, remove, reading private snapshot paths).
import { promises as fsp } from 'node:fs';
import { createInterface } from 'node:readline';

import { BlobStore } from './blobs.js';
import { applyLayer } from './layer-apply.js';
import { scanDir, type LeftOut } from './layer-scan.js';
import { upperAsSnapshot } from './upper-snapshot.js';
import { writeLayer } from './layer-write.js';
import type { UsernsOp } from './userns.js';
import { isUserError } from '../oci/errors.js';

async function main(op: UsernsOp): Promise<unknown> {
  switch (op.op) {
    case 'unpack':
      // user.overlay.* xattrs: the rootless overlay mount uses `userxattr`, and trusted.* is not ours here.
      // Opened first: a missing blob is this request's error, not an unhandled stream error that
      // would end the worker and every other request in it.
      return applyLayer((await fsp.open(op.blob)).createReadStream(), op.mediaType, op.dest, { overlayWhiteouts: true, userXattr: true });
    case 'commit': {
      const leftOut: LeftOut = { sockets: [], xattrs: [] };
      const scanned = await scanDir(op.upper, { overlay: true, ...(op.opaqueXattr !== undefined ? { opaqueXattr: op.opaqueXattr } : {}), leftOut });
      if (scanned.length === 0) return null;
      const entries = op.timestamp !== undefined ? scanned.map((e) => ({ ...e, mtime: op.timestamp! })) : scanned;
      const blob = await writeLayer(entries, new BlobStore(op.blobsDir, op.tmpDir), { format: op.format, clampMtime: op.clampMtime, compression: op.compression, level: op.level, reuseChunks: op.reuseChunks });
      // Files of other ids are only changeable in here. A failure only costs the speed-up: the
      // caller then leaves the upper alone and the snapshot is unpacked from the blob when needed.
      const policy = { timestamp: op.timestamp, clampMtime: op.clampMtime };
      const snapshotReady = op.keepAsSnapshot === true && (await upperAsSnapshot(op.upper, leftOut, scanned, policy).then(() => true, () => false));
      return { diffID: blob.diffID, digest: blob.digest, size: blob.size, mediaType: blob.mediaType, snapshotReady };
    }
    case 'rm':
      for (const p of op.paths) await fsp.rm(p, { recursive: true, force: true });
      return null;
    case 'peek': {
      const { answerPeek } = await import('./rootfs-host-fs.js');
      return answerPeek(op);
    }
  }
}

// Requests come one JSON line each on stdin ({ id, op }), as long as the parent keeps it open;
// answers go out as one JSON line each ({ id, ok, value | error }), in whatever order they finish.
const answer = (a: object) => process.stdout.write(JSON.stringify(a) + '\n');
createInterface({ input: process.stdin, crlfDelay: Infinity }).on('line', (line) => {
  if (line.trim() === '') return;
  const { id, op } = JSON.parse(line) as { id: number; op: UsernsOp };
  main(op).then(
    (value) => answer({ id, ok: true, value }),
    (e: unknown) => answer({ id, ok: false, error: (e as Error).message, ...(isUserError(e) ? { userError: true, hint: e.hint, exitCode: e.exitCode } : {}) }),
  );
});
