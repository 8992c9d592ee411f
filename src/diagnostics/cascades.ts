// Errors that follow from a syntax error are left out: a checker's complaint on the line the parser could not read.
import type { Diagnostic } from "./diagnostic.js";

/**
 * The diagnostics without the errors of later stages (names, shapes) whose place is on a line holding a syntax error
 * (RNN01xx): the parser recovered that line as best it could, and what the checker then says about it misleads.
 */
export function withoutCascades(ds: readonly Diagnostic[], sources: ReadonlyMap<string, string>): Diagnostic[] {
  const syntaxLines = new Map<string, Set<number>>();
  // Each file's line starts, found once; a line by binary search (a file may hold tens of thousands of errors).
  const starts = new Map<string, number[]>();
  const lineOf = (file: string, at: number): number | undefined => {
    let s = starts.get(file);
    if (!s) {
      const text = sources.get(file);
      if (text === undefined) return undefined;
      s = [0];
      for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) s.push(i + 1);
      starts.set(file, s);
    }
    let lo = 0, hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  for (const d of ds) {
    if (!d.code.startsWith("RNN01")) continue;
    const line = lineOf(d.primary.file, d.primary.span.start);
    if (line !== undefined) syntaxLines.set(d.primary.file, (syntaxLines.get(d.primary.file) ?? new Set()).add(line));
  }
  if (!syntaxLines.size) return [...ds];
  return ds.filter((d) => {
    if (d.code.startsWith("RNN01") || d.severity !== "error") return true;
    const lines = syntaxLines.get(d.primary.file);
    const line = lines && lineOf(d.primary.file, d.primary.span.start);
    return !(lines && line !== undefined && lines.has(line));
  });
}
