// The process cache/userns.ts starts inside a user namespace (as its root): one file operation,
// answered as one JSON line on stdout.
import { createReadStream, promises as fsp } from 'node:fs';

import { BlobStore } from './blobs.js';
import { applyLayer } from './layer-apply.js';
import { scanDir, type LeftOut } from './layer-scan.js';
import { upperAsSnapshot } from './upper-snapshot.js';
import { writeLayer } from './layer-write.js';
import type { UsernsOp } from './userns.js';

async function main(op: UsernsOp): Promise<unknown> {
  switch (op.op) {
    case 'unpack':
      // user.overlay.* xattrs: the rootless overlay mount uses `userxattr`, and trusted.* is not ours here.
      return applyLayer(createReadStream(op.blob), op.mediaType, op.dest, { overlayWhiteouts: true, userXattr: true });
    case 'commit': {
      const leftOut: LeftOut = { sockets: [], xattrs: [] };
      let entries = await scanDir(op.upper, { overlay: true, ...(op.opaqueXattr !== undefined ? { opaqueXattr: op.opaqueXattr } : {}), leftOut });
      if (entries.length === 0) return null;
      if (op.timestamp !== undefined) entries = entries.map((e) => ({ ...e, mtime: op.timestamp! }));
      const blob = await writeLayer(entries, new BlobStore(op.blobsDir, op.tmpDir), { format: op.format, clampMtime: op.clampMtime, compression: op.compression, level: op.level });
      // Files of other ids are only changeable in here. A failure only costs the speed-up: the
      // caller then leaves the upper alone and the snapshot is unpacked from the blob when needed.
      const snapshotReady = op.keepAsSnapshot === true && (await upperAsSnapshot(op.upper, leftOut).then(() => true, () => false));
      return { diffID: blob.diffID, digest: blob.digest, size: blob.size, mediaType: blob.mediaType, snapshotReady };
    }
    case 'rm':
      for (const p of op.paths) await fsp.rm(p, { recursive: true, force: true });
      return null;
  }
}

main(JSON.parse(process.argv[2] ?? '{}') as UsernsOp).then(
  (value) => process.stdout.write(JSON.stringify({ ok: true, value }) + '\n'),
  (e: unknown) => {
    process.stdout.write(JSON.stringify({ ok: false, error: (e as Error).message, userError: (e as Error).name === 'UserError' }) + '\n');
    process.exitCode = 1;
  },
);

