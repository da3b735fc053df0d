// images, inspect, tag, rmi.
import type { Command } from 'commander';
import { requireImage } from '../../cache/lookup.js';
import { tagImageNames } from '../../cache/image-tag.js';
import { UserError } from '../../oci/errors.js';
import { rootOption, storeFor } from './common.js';
import { renderInspectTemplate } from '../inspect-template.js';
import { relativeTime, renderTemplate } from '../table.js';

function splitName(name: string): { repository: string; tag: string } {
  const at = name.indexOf('@');
  const base = at >= 0 ? name.slice(0, at) : name;
  const colon = base.lastIndexOf(':');
  const slash = base.lastIndexOf('/');
  return colon > slash ? { repository: base.slice(0, colon), tag: base.slice(colon + 1) } : { repository: base, tag: '<none>' };
}

function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** `images NAME`: NAME is a repository (a full one, or its last components: busybox, library/busybox), with an optional :tag. */
function nameMatches(name: string, repository: string, tag: string): boolean {
  const colon = name.lastIndexOf(':');
  const [repo, wantTag] = colon > name.lastIndexOf('/') ? [name.slice(0, colon), name.slice(colon + 1)] : [name, undefined];
  if (wantTag !== undefined && wantTag !== tag) return false;
  return repository === repo || repository.endsWith('/' + repo);
}

export function registerImageCommands(program: Command): void {
  rootOption(
    program
      .command('images')
      .description('list images in local storage')
      .argument('[name]', 'only images of this repository (and tag, when given), as podman images NAME')
      .option('--format <format>', '"json", or a template such as "{{.Repository}}:{{.Tag}}"')
      .option('-q, --quiet', 'print only image IDs, each once')
      .option('--no-trunc', 'show full image IDs'),
  ).action(async (name: string | undefined, flags: { root?: string; format?: string; trunc: boolean; quiet?: boolean }) => {
    const [store, { listImages }] = await Promise.all([storeFor(flags), import('../../cache/image-list.js')]);
    const rows: { Repository: string; Tag: string; ID: string; Created: string; Size: number; Names: string[]; Digest: string }[] = [];
    for (const { record: rec, created, size } of await listImages(store)) {
      const names = rec.names.length > 0 ? rec.names : ['<none>:<none>'];
      for (const n of names) {
        const { repository, tag } = n === '<none>:<none>' ? { repository: '<none>', tag: '<none>' } : splitName(n);
        if (name !== undefined && !nameMatches(name, repository, tag)) continue;
        rows.push({ Repository: repository, Tag: tag, ID: rec.id, Created: created, Size: size, Names: rec.names, Digest: rec.manifestDigest });
      }
    }
    if (flags.quiet) {
      for (const id of new Set(rows.map((r) => r.ID))) process.stdout.write((flags.trunc ? id.slice(0, 12) : id) + '\n');
      return;
    }
    if (flags.format === 'json') {
      process.stdout.write(JSON.stringify(rows.map((r) => ({ Id: r.ID, Names: r.Names, Digest: r.Digest, Created: r.Created, Size: r.Size })), null, 2) + '\n');
      return;
    }
    if (flags.format) {
      for (const r of rows) process.stdout.write(renderTemplate(flags.format, { ...r, Size: humanSize(r.Size), CreatedAt: r.Created }, 'images') + '\n');
      return;
    }
    const table = [['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], ...rows.map((r) => [r.Repository, r.Tag, flags.trunc ? r.ID.slice(0, 12) : r.ID, relativeTime(r.Created), humanSize(r.Size)])];
    const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
    for (const row of table) process.stdout.write(row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c] + 2))).join('') + '\n');
  });

  rootOption(
    program
      .command('inspect')
      .description('show an image as JSON')
      .argument('<image>', 'image name or ID')
      .option('--type <type>', 'image (config and metadata) or manifest', 'image')
      .option('-f, --format <template>', 'a Go template as podman inspect takes, e.g. "{{.Id}}", "{{.Config.Env}}", "{{json .Config.Labels}}", \'{{index .Labels "version"}}\''),
  ).action(async (image: string, flags: { root?: string; type: string; format?: string }) => {
    const store = await storeFor(flags);
    const rec = await requireImage(store, image);
    const manifest = await store.images.readManifest(rec);
    const print = (value: unknown) =>
      process.stdout.write((flags.format !== undefined ? renderInspectTemplate(flags.format, value) : JSON.stringify(value, null, 2)) + '\n');
    if (flags.type === 'manifest') {
      print(manifest);
      return;
    }
    if (flags.type !== 'image') throw new UserError(`--type must be "image" or "manifest", got "${flags.type}"`);
    const config = await store.images.readConfig(rec);
    const out = {
      Id: rec.id,
      Digest: rec.manifestDigest,
      RepoTags: rec.names,
      Created: config.created,
      Author: config.author,
      Architecture: config.architecture,
      Os: config.os,
      Config: config.config ?? {},
      // podman's image inspect has the labels at the top as well
      Labels: config.config?.Labels ?? null,
      RootFS: config.rootfs,
      History: config.history ?? [],
      ManifestType: rec.manifestMediaType,
      Manifest: manifest,
      Size: manifest.layers.reduce((a, l) => a + l.size, 0),
    };
    print(out);
  });

  rootOption(program.command('tag').description('add names to an image').argument('<image>', 'image name or ID').argument('<names...>', 'new names')).action(
    async (image: string, names: string[], flags: { root?: string }) => {
      const store = await storeFor(flags);
      await tagImageNames(store, image, names);
    },
  );

  rootOption(
    program
      .command('rmi')
      .description('remove images (a name removes only that name while the image has others; the image goes with its last name, or when given by ID)')
      .argument('<images...>', 'image names or IDs')
      .option('-f, --force', 'remove an image given by ID even when it has several names (a name still only untags)'),
  ).action(async (images: string[], flags: { root?: string; force?: boolean }) => {
    const [store, { removeImage }] = await Promise.all([storeFor(flags), import('../../cache/image-remove.js')]);
    for (const image of images) {
      const { untagged, deleted } = await removeImage(store, image, { force: flags.force });
      for (const n of untagged) process.stdout.write(`Untagged: ${n}\n`);
      if (deleted) process.stdout.write(`Deleted: ${deleted}\n`);
    }
  });
}
