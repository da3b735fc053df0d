// Reading an image in an OCI layout the way the tsbuild-vs-buildah comparisons need it: the config
// fields a Containerfile sets (buildah's own version label dropped, empty values folded), and the
// file tree umoci unpacks.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { snapshotTree, type TreeEntry } from './tree.js';

const CONFIG_FIELDS = ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'ExposedPorts', 'Volumes', 'Labels', 'StopSignal', 'Healthcheck', 'OnBuild', 'Shell'];

export function comparableConfig(layout: string, tag = 'img'): Record<string, unknown> {
  const cfg = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${layout}:${tag}`], { encoding: 'utf8' }));
  const c = cfg.config ?? {};
  const out: Record<string, unknown> = { architecture: cfg.architecture, os: cfg.os };
  for (const k of CONFIG_FIELDS) {
    let v = c[k];
    if (k === 'Labels' && v) {
      v = { ...v };
      delete (v as Record<string, string>)['io.buildah.version'];
      if (Object.keys(v as object).length === 0) v = undefined;
    }
    if (Array.isArray(v) && v.length === 0 && k !== 'Cmd') v = undefined;
    if (v !== undefined && v !== null) out[k] = v;
  }
  return out;
}

/** umoci-unpack the image and snapshot its rootfs, leaving out paths that match `skip`. */
export function unpackedTree(layout: string, tag = 'img', skip?: RegExp): Map<string, TreeEntry> {
  const bundle = `${layout}-bundle`;
  execFileSync('umoci', ['unpack', '--image', `${layout}:${tag}`, bundle], { stdio: 'pipe' });
  const t = snapshotTree(join(bundle, 'rootfs'));
  if (skip) for (const p of [...t.keys()]) if (skip.test(p) || p === '.') t.delete(p);
  return t;
}
