// `tsbuild history IMAGE`: one row per step that made the image, newest first, as podman prints it.
// Rows come from the config's history; the ones that made a layer are matched to the manifest's
// layers in order (entries with empty_layer made none), which is how the size column is known.
import type { Command } from 'commander';
import { requireImage } from '../../cache/lookup.js';
import { UserError } from '../../oci/errors.js';
import { rootOption, storeFor } from './common.js';
import { formatBytes } from '../progress-format.js';
import { renderTemplate, printTable, relativeTime } from '../table.js';

export interface HistoryRow {
  /** 1-based position in the build, oldest first (what the STEP numbers of a build would be). */
  Step: number;
  /** The image ID on the newest row (podman's habit), "<missing>" on the others. */
  ID: string;
  Created: string;
  CreatedBy: string;
  /** Compressed size of the layer this step made; 0 for metadata-only steps. */
  Size: number;
  Layer: string;
  Comment: string;
  EmptyLayer: boolean;
}

export function registerHistory(program: Command): void {
  rootOption(
    program
      .command('history')
      .description('show the steps that made an image: when, by what instruction, and how big each layer is')
      .argument('<image>', 'image name or ID')
      .option('--format <format>', '"json", or a template such as "{{.CreatedBy}} {{.Size}}"')
      .option('--no-trunc', 'do not shorten the CREATED BY column and IDs')
      .option('-q, --quiet', 'print only the layer digests')
      .addHelpText('after', '\nExamples:\n  tsbuild history my-app\n  tsbuild history --no-trunc my-app\n  tsbuild history --format "{{.Step}}\\t{{.Size}}\\t{{.CreatedBy}}" my-app\n  tsbuild history --format json my-app | jq \'.[].CreatedBy\''),
  ).action(async (image: string, flags: { root?: string; format?: string; trunc: boolean; quiet?: boolean }) => {
    const store = await storeFor(flags);
    const rec = await requireImage(store, image);
    const manifest = await store.images.readManifest(rec);
    const config = await store.images.readConfig(rec);
    const history = config.history ?? [];
    const layers = [...manifest.layers];
    const rows: HistoryRow[] = history.map((h, i) => {
      const layer = h.empty_layer ? undefined : layers.shift();
      return {
        Step: i + 1,
        ID: '<missing>',
        Created: h.created ?? '',
        CreatedBy: h.created_by ?? '',
        Size: layer?.size ?? 0,
        Layer: layer?.digest ?? '',
        Comment: h.comment ?? '',
        EmptyLayer: Boolean(h.empty_layer),
      };
    });
    // Images made without history (some importers) still have layers: show them as unnamed steps.
    for (const l of layers) rows.push({ Step: rows.length + 1, ID: '<missing>', Created: '', CreatedBy: '', Size: l.size, Layer: l.digest, Comment: '', EmptyLayer: false });
    rows.reverse();
    if (rows.length > 0) rows[0]!.ID = rec.id;

    if (flags.quiet) {
      for (const r of rows) if (r.Layer) process.stdout.write(r.Layer + '\n');
      return;
    }
    if (flags.format === 'json') {
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      return;
    }
    if (flags.format) {
      for (const r of rows) process.stdout.write(renderTemplate(flags.format, { ...r, Size: r.EmptyLayer ? '0 B' : formatBytes(r.Size) }, 'history') + '\n');
      return;
    }
    if (rows.length === 0) throw new UserError(`${image}: the image has no history and no layers`);
    const createdBy = (s: string) => {
      const one = s.replace(/^\/bin\/sh -c #\(nop\) /, '').replace(/\s+/g, ' ');
      return flags.trunc && one.length > 45 ? one.slice(0, 42) + '...' : one;
    };
    printTable(
      ['ID', 'STEP', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
      rows.map((r) => [
        r.ID === '<missing>' || !flags.trunc ? r.ID : r.ID.slice(0, 12),
        String(r.Step),
        r.Created ? relativeTime(r.Created) : '',
        createdBy(r.CreatedBy),
        r.EmptyLayer ? '0 B' : formatBytes(r.Size),
        r.Comment,
      ]),
    );
  });
}
