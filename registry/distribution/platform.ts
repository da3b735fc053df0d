// Picking one manifest out of an index / manifest list for a platform. Default: linux + this
// machine's architecture, with Node's arch names mapped to OCI's (x64 → amd64, …).
import { UserError } from '../../oci/errors.js';
import type { Descriptor, ImageIndex, Platform } from '../../oci/types.js';

const ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', mips64el: 'mips64le', loong64: 'loong64' };

export function hostPlatform(): Platform {
  const architecture = ARCH[process.arch] ?? process.arch;
  const p: Platform = { os: 'linux', architecture };
  if (architecture === 'arm') {
    const v = (process.config.variables as Record<string, unknown>).arm_version;
    if (v) p.variant = `v${String(v)}`;
  }
  return p;
}

/** Variants that a descriptor without a variant is assumed to be (per the image-spec's platform table). */
const DEFAULT_VARIANT: Record<string, string> = { arm64: 'v8', arm: 'v7' };

export function platformString(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

export function selectManifest(index: ImageIndex, want: Platform, reference: string): Descriptor {
  const wantVariant = want.variant ?? DEFAULT_VARIANT[want.architecture];
  let best: { d: Descriptor; score: number } | undefined;
  for (const d of index.manifests ?? []) {
    const p = d.platform;
    if (!p || p.os !== want.os || p.architecture !== want.architecture) continue;
    // Skip attestation manifests that BuildKit marks with unknown/unknown platforms anyway.
    const variant = p.variant ?? DEFAULT_VARIANT[p.architecture];
    let score = 1;
    if (variant === wantVariant) score = 3;
    else if (want.variant) continue; // an explicit variant must match
    if (want['os.version'] && p['os.version'] === want['os.version']) score += 1;
    if (!best || score > best.score) best = { d, score };
  }
  if (!best) {
    const have = (index.manifests ?? []).map((d) => (d.platform ? platformString(d.platform) : '?')).join(', ');
    throw new UserError(`${reference}: no image for platform ${platformString(want)} in the manifest list (available: ${have || 'none'})`);
  }
  return best.d;
}
