// "Did you mean" helpers: edit distance between names and ranking of candidates.

/** Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps cost 1. */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) => Array.from({ length: n + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= m; i++)
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  return d[m]![n]!;
}

/** Candidates close enough to `name` to be a likely typo, best first. Case differences count as half. */
export function closestNames(name: string, candidates: Iterable<string>, limit = 3): string[] {
  const max = Math.max(1, Math.floor(name.length / 3));
  const scored: [string, number][] = [];
  for (const c of new Set(candidates)) {
    if (c === name) continue;
    const dist = c.toLowerCase() === name.toLowerCase() ? 0.5 : editDistance(name, c);
    if (dist <= max) scored.push([c, dist]);
  }
  return scored.sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0])).slice(0, limit).map(([c]) => c);
}

/** Orders every candidate by distance to `name` (for suggestions already filtered by another criterion, such as shape). */
export function rankByName(name: string, candidates: Iterable<string>): string[] {
  return [...new Set(candidates)].filter((c) => c !== name).sort((x, y) => editDistance(name, x) - editDistance(name, y) || x.localeCompare(y));
}

export function quoteList(names: readonly string[]): string {
  const q = names.map((n) => `\`${n}\``);
  return q.length <= 1 ? q.join("") : `${q.slice(0, -1).join(", ")} or ${q[q.length - 1]}`;
}
