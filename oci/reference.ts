// Image reference parsing and normalisation, as podman/containers/image do it:
//   busybox            -> docker.io/library/busybox:latest
//   user/app:1         -> docker.io/user/app:1
//   localhost:5000/x   -> localhost:5000/x:latest
//   x@sha256:...       -> docker.io/library/x@sha256:...

export class ReferenceError extends Error {
  constructor(ref: string, why: string) {
    super(`invalid image reference ${JSON.stringify(ref)}: ${why}`);
    this.name = 'ReferenceError';
  }
}

export interface ImageReference {
  /** Registry host (with port), e.g. "docker.io", "localhost:5000". */
  domain: string;
  /** Repository path without the domain, e.g. "library/busybox". */
  path: string;
  tag?: string;
  digest?: string;
  /** Whether the input named its registry (false for short names such as "busybox" or "team/app"). */
  qualified: boolean;
}

export const DEFAULT_DOMAIN = 'docker.io';
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

function looksLikeDomain(first: string): boolean {
  return first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase();
}

/** Parse and normalise a reference. A reference with neither tag nor digest gets `latest`. */
export function parseReference(input: string, opts: { defaultTag?: boolean } = {}): ImageReference {
  const ref = input.trim();
  if (ref === '') throw new ReferenceError(input, 'empty');
  if (ref.includes('://')) throw new ReferenceError(input, 'a transport prefix is not allowed here');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new ReferenceError(input, 'bad digest');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) throw new ReferenceError(input, `bad tag ${JSON.stringify(tag)}`);
  }
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  let qualified = false;
  const slash = rest.indexOf('/');
  if (slash >= 0 && looksLikeDomain(rest.slice(0, slash))) {
    domain = rest.slice(0, slash);
    path = rest.slice(slash + 1);
    qualified = true;
  }
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = 'library/' + path;
  if (path === '') throw new ReferenceError(input, 'empty repository');
  for (const c of path.split('/')) {
    if (!COMPONENT.test(c)) throw new ReferenceError(input, `repository name must be lowercase letters, digits and separators`);
  }
  if (!/^[a-zA-Z0-9.-]+(?::[0-9]+)?$/.test(domain) && !/^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/.test(domain)) {
    throw new ReferenceError(input, 'bad registry host');
  }
  if (tag === undefined && digest === undefined && opts.defaultTag !== false) tag = 'latest';
  return { domain, path, tag, digest, qualified };
}

export function repositoryName(r: ImageReference): string {
  return `${r.domain}/${r.path}`;
}

export function formatReference(r: ImageReference): string {
  let s = repositoryName(r);
  if (r.tag) s += ':' + r.tag;
  if (r.digest) s += '@' + r.digest;
  return s;
}

/** The normalised string form, e.g. "docker.io/library/busybox:latest". */
export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}

/** True when the string can be parsed as an image reference. */
export function isValidReference(input: string): boolean {
  try {
    parseReference(input);
    return true;
  } catch {
    return false;
  }
}

/**
 * The name a locally built or tagged image gets, as buildah and podman give it: a short name lives
 * under `localhost/` (`my-app` → `localhost/my-app:latest`), a qualified one is kept.
 */
export function normalizeLocalName(input: string): string {
  const r = parseReference(input);
  if (r.qualified) return formatReference(r);
  const path = r.path.startsWith('library/') && !input.trim().startsWith('library/') ? r.path.slice('library/'.length) : r.path;
  return formatReference({ ...r, domain: 'localhost', path });
}

/** Names a short name may stand for in local storage, in podman's order: localhost/ first, then docker.io. */
export function localCandidates(input: string): string[] {
  const r = parseReference(input);
  if (r.qualified) return [formatReference(r)];
  return [normalizeLocalName(input), formatReference(r)];
}
