// Opening a transport reference: one table from transport name to the code that opens it. The
// docker:// transport lives in registry/distribution and registers itself here (or is found by a
// lazy import), so this file compiles and works whether or not that module exists yet.
import { UserError } from '../oci/errors.js';
import type { Platform } from '../oci/types.js';
import { formatTransportReference, parseTransportReference } from './transport-ref.js';
import type { ImageDestination, ImageSource, TransportName, TransportReference } from './transport.js';

export interface OpenContext {
  /** Where archive transports unpack and stage (default os.tmpdir(); the store's tmp dir is better). */
  tmpDir?: string;
  /** Platform to pick from a multi-platform source (passed on to the registry transport). */
  platform?: Platform;
  /** Options for docker:// (auth, TLS, retries), passed through untouched to the registry module. */
  registry?: Record<string, unknown>;
}

export interface TransportDriver {
  openSource(ref: TransportReference, ctx: OpenContext): Promise<ImageSource>;
  openDestination(ref: TransportReference, ctx: OpenContext): Promise<ImageDestination>;
}

// Each transport's module is loaded when it is used: a push to a registry never pays for the archive
// readers and writers (tar-stream, zlib), nor a save to an archive for the registry client.
const drivers = new Map<TransportName, TransportDriver>([
  ['oci', {
    openSource: async (r) => (await import('./oci-layout.js')).openOciLayoutSource(r.path, r.tag, formatTransportReference(r)),
    openDestination: async (r) => new (await import('./oci-layout.js')).OciLayoutDestination(r.path, r.tag, formatTransportReference(r)),
  }],
  ['oci-archive', {
    openSource: async (r, ctx) => (await import('./oci-archive.js')).openOciArchiveSource(r.path, r.tag, formatTransportReference(r), ctx.tmpDir),
    openDestination: async (r, ctx) => (await import('./oci-archive.js')).openOciArchiveDestination(r.path, r.tag, formatTransportReference(r), ctx.tmpDir),
  }],
  ['docker-archive', {
    openSource: async (r, ctx) => (await import('./docker-archive.js')).openDockerArchiveSource(r.path, r.tag, formatTransportReference(r), ctx.tmpDir),
    openDestination: async (r, ctx) => (await import('./docker-archive.js')).openDockerArchiveDestination(r.path, r.tag, formatTransportReference(r), ctx.tmpDir),
  }],
]);

/** Let a transport module plug itself in (registry/distribution does this for "docker"). */
export function registerTransport(name: TransportName, driver: TransportDriver): void {
  drivers.set(name, driver);
}

/** registry/distribution's options: ctx.registry plus the platform (see RegistryOptions there). */
type RegistryOpts = Record<string, unknown> & { platform?: Platform };

interface DistributionModule {
  openRegistrySource?: (ref: TransportReference, opts: RegistryOpts) => Promise<ImageSource>;
  openRegistryDestination?: (ref: TransportReference, opts: RegistryOpts) => Promise<ImageDestination>;
}

function registryOpts(ctx: OpenContext): RegistryOpts {
  return ctx.platform ? { ...ctx.registry, platform: ctx.platform } : { ...ctx.registry };
}

/** docker:// without a registration: look for registry/distribution/index.js at run time. */
async function loadDistribution(): Promise<TransportDriver | undefined> {
  let mod: DistributionModule;
  try {
    // Loaded on first use: local commands never pay for the registry client. A literal specifier,
    // so the CLI bundle (scripts/bundle-cli.mjs) carries the module along.
    mod = (await import('./distribution/index.js')) as DistributionModule;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw e;
  }
  const { openRegistrySource, openRegistryDestination } = mod;
  if (!openRegistrySource || !openRegistryDestination) return drivers.get('docker'); // it may have registered itself on import
  const driver: TransportDriver = {
    openSource: (r, ctx) => openRegistrySource(r, registryOpts(ctx)),
    openDestination: (r, ctx) => openRegistryDestination(r, registryOpts(ctx)),
  };
  drivers.set('docker', driver);
  return driver;
}

async function driverFor(ref: TransportReference): Promise<TransportDriver> {
  const d = drivers.get(ref.transport) ?? (ref.transport === 'docker' ? await loadDistribution() : undefined);
  if (!d) throw new UserError(`${ref.raw}: ${ref.transport === 'docker' ? 'docker:// is not supported yet' : `transport ${ref.transport} is not available`}`);
  return d;
}

function asRef(ref: TransportReference | string): TransportReference {
  return typeof ref === 'string' ? parseTransportReference(ref) : ref;
}

export async function openSource(ref: TransportReference | string, ctx: OpenContext = {}): Promise<ImageSource> {
  const r = asRef(ref);
  return (await driverFor(r)).openSource(r, ctx);
}

export async function openDestination(ref: TransportReference | string, ctx: OpenContext = {}): Promise<ImageDestination> {
  const r = asRef(ref);
  return (await driverFor(r)).openDestination(r, ctx);
}
