/** Levenshtein distance, two rows. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The `n` candidates closest to `name` by edit distance (case-insensitive), closest first. */
export function nearest(name: string, candidates: readonly string[], n: number): string[] {
  const want = name.toLowerCase();
  return [...new Set(candidates)]
    .map((c) => ({ c, d: editDistance(want, c.toLowerCase()) }))
    .sort((x, y) => x.d - y.d)
    .slice(0, n)
    .map((x) => x.c);
}
