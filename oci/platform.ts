// Platforms: this machine's, text ⇄ object, and picking one manifest out of an image index or
// Docker manifest list. Pure (no I/O), shared by the registry transports and the build planner.
import { UserError } from './errors.js';
import type { Descriptor, ImageIndex, Platform } from './types.js';

// Node's process.arch names → OCI/GOARCH names.
const ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', mips64el: 'mips64le', loong64: 'loong64' };

/** Variants that a platform without a variant is assumed to be (the image-spec's platform table). */
const DEFAULT_VARIANT: Record<string, string> = { arm64: 'v8', arm: 'v7' };

/**
 * This machine's platform in OCI spelling (containers only run on linux here). arm64 carries no
 * variant (BuildKit's normalised form, so TARGETVARIANT is empty); 32-bit arm names its version.
 */
export function hostPlatform(): Platform {
  const architecture = ARCH[process.arch] ?? process.arch;
  const p: Platform = { os: 'linux', architecture };
  if (architecture === 'arm') {
    const v = (process.config.variables as Record<string, unknown>).arm_version;
    p.variant = v ? `v${String(v)}` : 'v7';
  }
  return p;
}

/** "os/arch[/variant]". */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** "os/arch[/variant]" → Platform; undefined when it is not of that shape. */
export function parsePlatform(s: string): Platform | undefined {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((x) => x === '')) return undefined;
  return { os: parts[0], architecture: parts[1], ...(parts[2] ? { variant: parts[2] } : {}) };
}

/** Whether an image made for `have` runs as `want`: os and architecture equal; variants as in selectManifest. */
export function platformMatches(have: Platform, want: Platform): boolean {
  if (have.os !== want.os || have.architecture !== want.architecture) return false;
  if (!want.variant) return true;
  return (have.variant ?? DEFAULT_VARIANT[have.architecture]) === want.variant;
}

/**
 * The index entry for `want`. os and architecture must match; a missing variant on either side is
 * read as the architecture's default (arm64 → v8), and an explicitly wanted variant must match.
 * A matching os.version scores higher (Windows-style indexes). As containers/image does.
 */
export function selectManifest(index: ImageIndex, want: Platform, reference: string): Descriptor {
  const wantVariant = want.variant ?? DEFAULT_VARIANT[want.architecture];
  let best: { d: Descriptor; score: number } | undefined;
  for (const d of index.manifests ?? []) {
    const p = d.platform;
    if (!p || p.os !== want.os || p.architecture !== want.architecture) continue;
    const variant = p.variant ?? DEFAULT_VARIANT[p.architecture];
    let score = 1;
    if (variant === wantVariant) score = 3;
    else if (want.variant) continue;
    if (want['os.version'] && p['os.version'] === want['os.version']) score += 1;
    if (!best || score > best.score) best = { d, score };
  }
  if (!best) {
    const have = (index.manifests ?? []).map((d) => (d.platform ? formatPlatform(d.platform) : '?')).join(', ');
    throw new UserError(`${reference}: no image for platform ${formatPlatform(want)} in the manifest list (available: ${have || 'none'})`);
  }
  return best.d;
}
