// S2I (OpenShift Source-to-Image) on tsbuild's engine: see ../../README.md "S2I" and
// shared/design/s2i.md for the behaviour matched.
export { s2iBuild, type S2IBuildOptions, type S2IBuildResult, type S2IEvent } from './build.js';
export { s2iUsage, type S2IUsageOptions } from './usage.js';
export { rewriteImageConfig } from './image-config.js';
export type { PullPolicyS2I } from './builder-image.js';
