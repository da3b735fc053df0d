// The platform we build for and the predefined build args derived from it (BuildKit's list).
import type { Platform } from '../../oci/types.js';
import { formatPlatform, hostPlatform } from '../../oci/platform.js';

// The pure helpers moved to oci/platform.ts; re-exported for the planner's callers.
export { formatPlatform, hostPlatform, parsePlatform } from '../../oci/platform.js';

/** TARGETPLATFORM, TARGETOS, ... BUILDARCH: available to FROM lines and, when declared, to stages. */
export function platformArgs(target: Platform, build: Platform = hostPlatform()): Map<string, string> {
  return new Map([
    ['TARGETPLATFORM', formatPlatform(target)],
    ['TARGETOS', target.os],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant ?? ''],
    ['BUILDPLATFORM', formatPlatform(build)],
    ['BUILDOS', build.os],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant ?? ''],
  ]);
}

/** Proxy args are predefined: usable without ARG, and never written to the image or history. */
export const PROXY_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];
