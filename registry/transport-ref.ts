// Parsing "transport:reference" strings the way containers/image (skopeo, podman) does, so the same
// strings work with both tools.
import { UserError } from '../oci/errors.js';
import type { TransportName, TransportReference } from './transport.js';

const KNOWN = 'use oci:, oci-archive:, docker-archive: or docker://';

/**
 * oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME|:@INDEX], docker://REF.
 *
 * As in containers/image, the FIRST colon after the path separates the tag: the path cannot contain
 * a colon, but the tag can (`oci:/l:docker.io/library/busybox:latest` is a common ref.name).
 */
export function parseTransportReference(s: string): TransportReference {
  if (s.startsWith('docker://')) {
    const path = s.slice('docker://'.length);
    if (path === '') throw new UserError(`invalid image reference "${s}": missing the image name after docker://`);
    return { transport: 'docker', path, raw: s };
  }
  const colon = s.indexOf(':');
  const name = colon > 0 ? s.slice(0, colon) : '';
  if (name !== 'oci' && name !== 'oci-archive' && name !== 'docker-archive') {
    throw new UserError(`unknown transport in "${s}": ${KNOWN}`);
  }
  const transport: TransportName = name;
  const rest = s.slice(colon + 1);
  const sep = rest.indexOf(':');
  const path = sep >= 0 ? rest.slice(0, sep) : rest;
  const tag = sep >= 0 ? rest.slice(sep + 1) : undefined;
  if (path === '') throw new UserError(`invalid image reference "${s}": missing the ${transport === 'oci' ? 'directory' : 'file'} path`);
  if (tag !== undefined) {
    if (tag === '') throw new UserError(`invalid image reference "${s}": empty tag after the path`);
    if (transport === 'docker-archive') {
      if (!/^@\d+$/.test(tag) && (tag.includes('@') || !/^[a-z0-9]/.test(tag))) {
        throw new UserError(`invalid image reference "${s}": docker-archive takes a tagged name (busybox:latest) or @INDEX, not a digest`);
      }
    } else if (!/^[A-Za-z0-9._:@/+-]+$/.test(tag)) {
      // containers/image's refname rule for oci: and oci-archive:.
      throw new UserError(`invalid image reference "${s}": tag ${JSON.stringify(tag)} may only contain letters, digits and . _ : @ / + -`);
    }
  }
  return tag === undefined ? { transport, path, raw: s } : { transport, path, tag, raw: s };
}

/** Format back to the canonical string (used for messages). */
export function formatTransportReference(r: TransportReference): string {
  if (r.transport === 'docker') return `docker://${r.path}`;
  return r.tag === undefined ? `${r.transport}:${r.path}` : `${r.transport}:${r.path}:${r.tag}`;
}
