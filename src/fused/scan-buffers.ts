// The fused scan's buffers: spare arrays reused between calls, and places of a step's rows in its time-major arrays.
import { heapOffset, HeapRows, type Place, type Rows } from "./slots.js";

/**
 * Float32Arrays given back for reuse (a kernel's tapes are alive one or two at a time). A request takes the smallest
 * spare of at least its size (at most twice it), as a view when larger: batches of other lengths reuse them too.
 */
export class SpareArrays {
  private readonly free: Float32Array[] = [];
  /** Each view handed out of a larger spare: that spare. */
  private readonly origin = new WeakMap<Float32Array, Float32Array>();
  /** An array of `n` floats: a spare one (its old values left unless `zero`) or a new one. */
  take(n: number, zero = false): Float32Array {
    let best = -1;
    for (let k = 0; k < this.free.length; k++) {
      const len = this.free[k]!.length;
      if (len >= n && len <= 2 * n && (best < 0 || len < this.free[best]!.length)) best = k;
    }
    if (best < 0) return new Float32Array(n);
    const a = this.free.splice(best, 1)[0]!;
    const v = a.length === n ? a : a.subarray(0, n);
    if (v !== a) this.origin.set(v, a);
    if (zero) v.fill(0);
    return v;
  }
  /** Gives back an array taken here, or one of the caller's own (not a view of anything else). */
  give(v: Float32Array): void {
    const a = this.origin.get(v) ?? v;
    if (a.byteOffset !== 0 || a.byteLength !== a.buffer.byteLength || this.free.includes(a)) return;
    this.free.push(a);
    if (this.free.length > 16) this.free.shift();
  }
}

/** A value's data as an array that outlives the kernel call (values in the kernel memory are copied out). */
export const keep = (v: Rows): Float32Array => (v instanceof HeapRows ? v.data.slice() : v.data);

/** The place `offset` floats into a place. */
export const placeAt = (p: Place, offset: number): Place => (typeof p === "number" ? p + offset : p.subarray(offset));

/** Whether a value is the one written at place `at` (its buffer, not a copy elsewhere). */
export const inPlace = (v: Rows, at: Place): boolean => (typeof at === "number" ? !v.shared && heapOffset(v) === at : v.data.buffer === at.buffer && v.data.byteOffset === at.byteOffset);


/** A value as B rows of data (a shared one repeated). */
export function spread(v: Rows, B: number): Float32Array {
  if (!v.shared) return v.data;
  const size = v.data.length;
  const out = new Float32Array(B * size);
  for (let b = 0; b < B; b++) out.set(v.data, b * size);
  return out;
}

/** `n` floats from `src` at `from` to `dst` at `to`: short runs in a loop (cheaper than a view), long ones by `set`. */
export function copyFloats(src: Float32Array | Float64Array, from: number, dst: Float32Array, to: number, n: number): void {
  if (n >= 64) dst.set(src.subarray(from, from + n), to);
  else for (let i = 0; i < n; i++) dst[to + i] = src[from + i]!;
}

/** into += d over d's length (d may cover only into's first rows). */
export function addInto(into: Float32Array, d: Float32Array): void {
  for (let i = 0; i < d.length; i++) into[i] += d[i]!;
}
