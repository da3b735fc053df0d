// Platform helpers for the docker:// transport: they live in oci/platform.ts (pure, shared).
export { formatPlatform, hostPlatform, selectManifest } from '../../oci/platform.js';
