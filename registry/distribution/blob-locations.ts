// Which repositories of which registry are known to hold a blob, learnt from pulls and pushes in
// this process (containers/image calls this the blob info cache). A push consults it to try a
// cross-repository mount instead of uploading bytes the registry already has.

const locations = new Map<string, Set<string>>(); // digest -> {"host/repo"}

export function recordBlobLocation(registry: string, repository: string, digest: string): void {
  let s = locations.get(digest);
  if (!s) locations.set(digest, (s = new Set()));
  s.add(`${registry}/${repository}`);
}

/** Other repositories of the same registry that hold the blob, most recently learnt first. */
export function mountCandidates(registry: string, repository: string, digest: string): string[] {
  const s = locations.get(digest);
  if (!s) return [];
  const out: string[] = [];
  for (const loc of s) {
    if (!loc.startsWith(registry + '/')) continue;
    const repo = loc.slice(registry.length + 1);
    if (repo !== repository) out.push(repo);
  }
  return out.reverse();
}

/** For tests: forget everything. */
export function clearBlobLocations(): void {
  locations.clear();
}
