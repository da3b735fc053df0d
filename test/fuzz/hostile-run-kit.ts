// Re-exports for hostile-run.test.ts (keeps its imports in one place).
export { TempDir, tsbuild, tsbuildOk } from '../helpers/cli.js';
export { REPO_ROOT as REPO_ROOT_FOR_TESTS } from '../helpers/busybox-image.js';
