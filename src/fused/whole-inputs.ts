// Sequences a cell reads whole (attention), between the model's time-major layout and the kernel's row per example.
/** [S, B, size] (time-major) → [B, S, size], as a new array. */
export function batchFirst(a: Float32Array, S: number, B: number): Float32Array {
  const size = a.length / (S * B || 1);
  const o = new Float32Array(a.length);
  for (let s = 0; s < S; s++) for (let b = 0; b < B; b++) o.set(a.subarray((s * B + b) * size, (s * B + b + 1) * size), (b * S + s) * size);
  return o;
}

/** [B, S, size] → [S, B, size] (time-major), as a new array. */
export function timeFirst(a: Float32Array, S: number, B: number): Float32Array {
  const size = a.length / (S * B || 1);
  const o = new Float32Array(a.length);
  for (let b = 0; b < B; b++) for (let s = 0; s < S; s++) o.set(a.subarray((b * S + s) * size, (b * S + s + 1) * size), (s * B + b) * size);
  return o;
}

/** The mask [B, S]: 1 at each example's own positions (before its length), 0 past them. */
export function maskOf(lengths: readonly number[], S: number): Float32Array {
  const m = new Float32Array(lengths.length * S);
  lengths.forEach((l, b) => m.fill(1, b * S, b * S + Math.min(l, S)));
  return m;
}
