// The oci-archive: transport: a tar of an OCI image layout. Reading extracts it into a temp dir and
// reads that as oci:; writing builds a layout in a temp dir and tars it to FILE on commit. Like
// containers/image, writing replaces the archive: it holds the one image just copied.
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Descriptor, Platform } from '../oci/types.js';
import { extractArchive, makeTempDir, membersOf, writeArchive } from './archive-io.js';
import { openOciLayoutSource, OciLayoutDestination, type OciLayoutSource } from './oci-layout.js';
import type { ImageDestination, ImageSource, ManifestBytes } from './transport.js';

export async function openOciArchiveSource(file: string, tag: string | undefined, reference: string, tmpDir?: string): Promise<ImageSource> {
  const dir = await makeTempDir('oci-archive', tmpDir);
  try {
    await extractArchive(file, dir, reference);
    const inner = await openOciLayoutSource(dir, tag, reference);
    return new OciArchiveSource(inner, dir);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

class OciArchiveSource implements ImageSource {
  constructor(
    private readonly inner: OciLayoutSource,
    private readonly dir: string,
  ) {}
  get reference(): string {
    return this.inner.reference;
  }
  getManifest(platform?: Platform): Promise<ManifestBytes> {
    return this.inner.getManifest(platform);
  }
  getBlob(desc: Descriptor): Promise<Readable> {
    return this.inner.getBlob(desc);
  }
  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

export async function openOciArchiveDestination(file: string, tag: string | undefined, reference: string, tmpDir?: string): Promise<ImageDestination> {
  const dir = await makeTempDir('oci-archive', tmpDir);
  return new OciArchiveDestination(new OciLayoutDestination(dir, tag, reference), file, dir);
}

class OciArchiveDestination implements ImageDestination {
  constructor(
    private readonly inner: OciLayoutDestination,
    private readonly file: string,
    private readonly dir: string,
  ) {}
  get reference(): string {
    return this.inner.reference;
  }
  get supportedManifestTypes(): string[] {
    return this.inner.supportedManifestTypes;
  }
  get forcedManifestTypes(): string[] {
    return this.inner.forcedManifestTypes;
  }
  hasBlob(desc: Descriptor): Promise<boolean> {
    return this.inner.hasBlob(desc);
  }
  putBlob(desc: Descriptor, content: Readable): Promise<void> {
    return this.inner.putBlob(desc, content);
  }
  putManifest(manifest: ManifestBytes): Promise<void> {
    return this.inner.putManifest(manifest);
  }
  async commit(): Promise<void> {
    await this.inner.commit();
    await writeArchive(this.file, await membersOf(this.dir));
  }
  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
