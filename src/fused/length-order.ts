// Examples longest first: a scan then computes, at each step, only the rows still running (PyTorch's packed sequences).

/** The order of the rows by length, longest first (stable), or undefined when they are in that order already (or have no lengths). */
export function longestFirst(lengths: readonly number[] | undefined): Int32Array | undefined {
  if (!lengths || nonIncreasing(lengths)) return undefined;
  return Int32Array.from(lengths.map((_, b) => b).sort((a, b) => lengths[b]! - lengths[a]! || a - b));
}

export function nonIncreasing(lengths: readonly number[]): boolean {
  for (let b = 1; b < lengths.length; b++) if (lengths[b]! > lengths[b - 1]!) return false;
  return true;
}

/**
 * How many rows run at step t: with lengths longest first, the rows still running are the first ones, those of
 * length > t (all B without lengths, or when the lengths are in another order).
 */
export function runningRows(lengths: readonly number[] | undefined, sorted: boolean, B: number, t: number): number {
  if (!lengths || !sorted) return B;
  let n = 0;
  while (n < B && lengths[n]! > t) n++;
  return n;
}

/** Each step's rows of a time-major [T·B·size] array in `order`: row i of a step is row order[i] of that step in `a`. */
export const permuteRows = (a: Float32Array, order: Int32Array, T: number): Float32Array => moveRows(a, order, T, true);

/** The inverse of permuteRows: row order[i] of each step is row i of that step in `a`. */
export const unpermuteRows = (a: Float32Array, order: Int32Array, T: number): Float32Array => moveRows(a, order, T, false);

function moveRows(a: Float32Array, order: Int32Array, T: number, gather: boolean): Float32Array {
  const B = order.length, size = a.length / (T * B || 1);
  const out = new Float32Array(a.length);
  for (let t = 0; t < T; t++)
    for (let i = 0; i < B; i++) {
      const [from, to] = gather ? [t * B + order[i]!, t * B + i] : [t * B + i, t * B + order[i]!];
      out.set(a.subarray(from * size, (from + 1) * size), to * size);
    }
  return out;
}
