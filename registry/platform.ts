// Platform helpers for the transports: they live in oci/platform.ts (pure, shared with the planner).
export { formatPlatform, hostPlatform, parsePlatform, selectManifest } from '../oci/platform.js';
