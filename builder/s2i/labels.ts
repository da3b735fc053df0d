// Output labels (§F-3): the builder's (inherited through FROM), then the generated
// io.openshift.s2i.build.* set, then those the assemble script asked for in image_metadata.json.
import { UserError } from '../../oci/errors.js';
import type { SourceInfo } from './source.js';

export const LABEL_NS = 'io.openshift.s2i.';
export const MAX_LABELS_SIZE = 10240;

export function generatedLabels(o: { tag?: string; builder: string; source: SourceInfo }): Record<string, string> {
  const out: Record<string, string> = {};
  const set = (k: string, v: string | undefined) => {
    if (v !== undefined && v !== '') out[k] = v;
  };
  set('io.k8s.display-name', o.tag);
  set(LABEL_NS + 'build.image', o.builder);
  const c = o.source.commit;
  if (c) {
    set(LABEL_NS + 'build.commit.author', c.author);
    set(LABEL_NS + 'build.commit.date', c.date);
    set(LABEL_NS + 'build.commit.id', c.id);
    set(LABEL_NS + 'build.commit.ref', c.ref);
    set(LABEL_NS + 'build.commit.message', c.message);
  }
  set(LABEL_NS + 'build.source-location', o.source.location);
  set(LABEL_NS + 'build.source-context-dir', o.source.contextDir);
  return out;
}

/** `{"labels":[{"k":"v"},...]}`; string values only; malformed JSON is a build error (as in S2I). */
export function parseImageMetadata(text: string): Record<string, string> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UserError(`/tmp/.s2i/image_metadata.json written by assemble is not valid JSON: ${(e as Error).message}`);
  }
  const out: Record<string, string> = {};
  const list = (doc as { labels?: unknown })?.labels;
  if (list === undefined) return out;
  if (!Array.isArray(list)) throw new UserError('/tmp/.s2i/image_metadata.json: "labels" must be a list of objects');
  for (const item of list) {
    if (!item || typeof item !== 'object') throw new UserError('/tmp/.s2i/image_metadata.json: "labels" must be a list of objects');
    for (const [k, v] of Object.entries(item as Record<string, unknown>)) {
      if (typeof v !== 'string') throw new UserError(`/tmp/.s2i/image_metadata.json: label ${k} must have a string value`);
      out[k] = v;
    }
  }
  return out;
}

export function checkLabelSize(labels: Record<string, string>): void {
  let size = 0;
  for (const [k, v] of Object.entries(labels)) size += k.length + v.length;
  if (size > MAX_LABELS_SIZE) throw new UserError(`label size ${size} exceeds the maximum limit ${MAX_LABELS_SIZE}`);
}
