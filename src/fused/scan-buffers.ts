// The fused scan's buffers: spare arrays reused between calls, and places of a step's rows in its time-major arrays.
import { heapOffset, HeapRows, type Place, type Rows } from "./slots.js";

/** Float32Arrays given back for reuse, by length (a few of each: a kernel's tapes are alive one or two at a time). */
export class SpareArrays {
  private readonly byLength = new Map<number, Float32Array[]>();
  /** An array of `n` floats: a spare one (its old values left unless `zero`) or a new one. */
  take(n: number, zero = false): Float32Array {
    const a = this.byLength.get(n)?.pop();
    if (!a) return new Float32Array(n);
    if (zero) a.fill(0);
    return a;
  }
  give(a: Float32Array): void {
    let list = this.byLength.get(a.length);
    if (!list) this.byLength.set(a.length, (list = []));
    if (list.length < 4 && !list.includes(a)) list.push(a);
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

/** into += d over d's length (d may cover only into's first rows). */
export function addInto(into: Float32Array, d: Float32Array): void {
  for (let i = 0; i < d.length; i++) into[i] += d[i]!;
}
