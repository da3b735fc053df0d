// Choosing one manifest from an index or manifest list for a platform.
import { UserError } from '../oci/errors.js';
import type { Descriptor, ImageIndex, Platform } from '../oci/types.js';

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** This machine's platform in OCI spelling (containers only run on linux here). */
export function hostPlatform(): Platform {
  const architecture = ARCH[process.arch] ?? process.arch;
  return architecture === 'arm64' ? { os: 'linux', architecture, variant: 'v8' } : { os: 'linux', architecture };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? '/' + p.variant : ''}`;
}

/**
 * The index entry for `want`. os and architecture must match; an entry with the same variant wins
 * over one without, as in containers/image (arm64 images usually have "v8" or no variant at all).
 */
export function selectManifest(index: ImageIndex, want: Platform, reference: string): Descriptor {
  const candidates = index.manifests.filter((d) => d.platform && d.platform.os === want.os && d.platform.architecture === want.architecture);
  const exact = candidates.find((d) => (d.platform?.variant ?? '') === (want.variant ?? ''));
  const loose = candidates.find((d) => !d.platform?.variant || !want.variant);
  const chosen = exact ?? loose ?? candidates[0];
  if (chosen) return chosen;
  const have = index.manifests.map((d) => (d.platform ? formatPlatform(d.platform) : 'unknown')).join(', ');
  throw new UserError(`${reference}: no image for ${formatPlatform(want)} in the index (it has: ${have || 'nothing'})`);
}
