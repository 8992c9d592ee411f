// The largest and smallest of a list of any length (Math.max(...xs) passes each element as an argument and overflows the stack past ~100,000).

/** The largest of `xs`, or `empty` when there are none (Math.max's -Infinity by default). */
export function maxOf(xs: Iterable<number>, empty = -Infinity): number {
  let m = -Infinity, any = false;
  for (const x of xs) { any = true; if (x > m || Number.isNaN(x)) m = x; if (Number.isNaN(m)) return NaN; }
  return any ? m : empty;
}

/** The smallest of `xs`, or `empty` when there are none. */
export function minOf(xs: Iterable<number>, empty = Infinity): number {
  let m = Infinity, any = false;
  for (const x of xs) { any = true; if (x < m || Number.isNaN(x)) m = x; if (Number.isNaN(m)) return NaN; }
  return any ? m : empty;
}
