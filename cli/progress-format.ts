// Small formatting helpers shared by the progress renderers (plain, tty, json).

/** `0.4s`, `12.3s`, `2m05s`: short enough for a step line, precise enough to compare runs. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** Decimal units as podman prints sizes (`12.3 MB`). */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** The first 12 hex digits of a digest, as podman and buildah abbreviate blobs and images. */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  return digest.slice(colon + 1, colon + 13);
}

/** An instruction cut to `max` characters for one-line summaries (the STEP line has it whole). */
export function clip(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? one.slice(0, Math.max(0, max - 3)) + '...' : one;
}

/**
 * A line of step output made safe to draw inside a live terminal region: escape sequences and other
 * control characters would move the cursor and corrupt the redraw, and a `\r`-animated progress
 * bar from the step itself is shown as its latest state.
 */
export function terminalSafe(line: string): string {
  const lastCr = line.replace(/\r+$/, '').lastIndexOf('\r');
  const visible = lastCr >= 0 ? line.slice(lastCr + 1) : line;
  // eslint-disable-next-line no-control-regex
  return visible.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\x1b[\]PX^_][^\x07\x1b]*(\x07|\x1b\\)?/g, '').replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '').replace(/\t/g, '  ');
}
