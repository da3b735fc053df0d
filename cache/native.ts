// Access to the native addon (xattrs, mknod), which may not be built: everything here degrades to
// `undefined` so callers can decide whether the missing capability is fatal for what they are doing.

export interface NativeFs {
  mknod(path: string, mode: number, major: number, minor: number): void;
  lgetxattr(path: string, name: string): Buffer | undefined;
  lsetxattr(path: string, name: string, value: Buffer): void;
  llistxattr(path: string): string[];
  lremovexattr?(path: string, name: string): void;
}

let loaded: Promise<NativeFs | undefined> | undefined;

/** The addon's fs functions, or undefined when it is not built / not loadable on this host. */
export function loadNative(): Promise<NativeFs | undefined> {
  loaded ??= (async () => {
    try {
      // A literal specifier: the CLI bundle (scripts/bundle-cli.mjs) must carry the module along.
      const mod = (await import('../native/index.js')) as Partial<NativeFs> & { nativeAvailable?: () => boolean };
      if (typeof mod.nativeAvailable === 'function' && !mod.nativeAvailable()) return undefined;
      if (typeof mod.mknod !== 'function' || typeof mod.lsetxattr !== 'function' ||
          typeof mod.lgetxattr !== 'function' || typeof mod.llistxattr !== 'function') return undefined;
      return mod as NativeFs;
    } catch {
      return undefined;
    }
  })();
  return loaded;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}
