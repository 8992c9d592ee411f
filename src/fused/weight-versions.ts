// Weights the kernels may keep work for between calls: an array is the same weights until its owner says it changed.
//
// The contract: an array of weights handed to a kernel is not written in place unless its owner then calls
// `weightsChanged` (the fused trainer does, after each update). Values computed from weights (stacked gate matrices)
// and weights packed for the products are kept by array and version, so they are made once per update, not per call.

const versions = new WeakMap<Float32Array, number>();

/** How many times the owner of `a` has changed it in place. */
export const versionOf = (a: Float32Array): number => versions.get(a) ?? 0;

/** The owner of these arrays has written them in place: what was kept of them is stale. */
export function weightsChanged(arrays: Iterable<Float32Array>): void {
  for (const a of arrays) versions.set(a, versionOf(a) + 1);
}

/** The arrays and their versions, to tell later whether a set of weights is still the same. */
export type WeightsSeen = ReadonlyMap<string, readonly [Float32Array, number]>;

export const seen = (params: ReadonlyMap<string, Float32Array>): WeightsSeen => new Map([...params].map(([k, a]) => [k, [a, versionOf(a)] as const]));

/** Whether `params` are the very arrays seen, unchanged since. */
export function sameWeights(was: WeightsSeen | undefined, params: ReadonlyMap<string, Float32Array>): boolean {
  if (!sameArrays(was, params)) return false;
  for (const [k, a] of params) if (was!.get(k)![1] !== versionOf(a)) return false;
  return true;
}

/** Whether `params` are the very arrays seen, whatever their owner wrote to them since. */
export function sameArrays(was: WeightsSeen | undefined, params: ReadonlyMap<string, Float32Array>): boolean {
  if (!was || was.size !== params.size) return false;
  for (const [k, a] of params) if (was.get(k)?.[0] !== a) return false;
  return true;
}
