// Stores holding the busybox base and a one-COPY app built on it: for tests of the commands that
// list and remove images (images, rmi), each wanting stores of its own.
import { join } from 'node:path';
import type { BusyboxImage } from './busybox-image.js';
import { lastLine, tsbuildOk, type TempDir } from './cli.js';

export class AppStores {
  constructor(
    private readonly tmp: TempDir,
    private readonly busybox: BusyboxImage,
  ) {
    tmp.file('app/msg.txt', 'hi\n');
    tmp.file('app/Containerfile', 'FROM busybox\nCOPY msg.txt /msg.txt\n');
  }

  /** A fresh store holding the busybox base. */
  newStore(name: string): string {
    const root = this.tmp.dir(name);
    tsbuildOk(['pull', '-q', '--root', root, `docker-archive:${this.busybox.dockerArchive}`]);
    return root;
  }

  /** Build the app into `root` as `tag`; its image ID. */
  build(root: string, tag: string, extra: string[] = []): string {
    return lastLine(tsbuildOk(['build', '-q', '--root', root, '-t', tag, ...extra, join(this.tmp.path, 'app')]).stdout);
  }
}
