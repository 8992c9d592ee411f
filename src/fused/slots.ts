// Where a kernel call's values live: each node's buffer reused from step to step, in the kernel memory while there is room.
import { kernelMemory } from "./kernel-memory.js";

/** A value for many rows: `rows` examples of `shape` one after another, or (`shared`) one value for all of them. */
export interface Rows {
  readonly data: Float32Array;
  readonly shape: readonly number[];
  readonly shared: boolean;
  readonly rows: number;
  /** Set on a shared 2-D value that is the transpose of this one: products read it instead (no transposed copy). */
  readonly transposeOf?: Rows;
}

/**
 * The transpose of a shared matrix, computed only if something reads its data: the products that take it read the
 * matrix it transposes instead (a weight stacked [4H, I] is read as its transpose without ever being transposed).
 */
export class LazyTranspose implements Rows {
  readonly shared = true;
  readonly rows = 1;
  private value: Float32Array | undefined;
  constructor(readonly transposeOf: Rows, readonly shape: readonly number[], private readonly compute: () => Float32Array) {}
  get data(): Float32Array {
    return (this.value ??= this.compute());
  }
}

/** Floats of kernel memory values may take at most (past it they go to ordinary arrays). */
export const HEAP_VALUES_LIMIT = 1 << 26;

/**
 * A value kept in the kernel memory from float `at` on, so products and fused loops read and write it in place. Its
 * view is taken when read: the memory may have grown (and its old views gone) since the value was written.
 */
export class HeapRows implements Rows {
  constructor(readonly at: number, readonly length: number, readonly shape: readonly number[], readonly shared: boolean, readonly rows: number) {}
  get data(): Float32Array {
    return kernelMemory()!.heap.subarray(this.at, this.at + this.length);
  }
}

/** A node's buffer: an offset into the kernel memory, or an array of its own. */
export type Place = number | Float32Array;

/**
 * Each node's buffer for one kernel call, reused from step to step (every kernel writes all of its output). Buffers
 * are taken from the kernel memory, which the next kernel call starts over: nothing here outlives the call.
 */
export class Slots implements Places {
  private readonly places = new Map<number, { place: Place; length: number }>();

  /**
   * Node `id` writes at `place` from now on instead of a buffer of its own: a step's block of a buffer kept for every
   * step, so the value is written where it is kept rather than copied there after the step.
   */
  bind(id: number, place: Place, length: number): void {
    this.places.set(id, { place, length });
  }

  /** Node `id`'s buffer of `length` floats. */
  place(id: number, length: number): Place {
    // A step of fewer rows (longest-first runs) uses the start of the buffer of a longer one.
    const known = this.places.get(id);
    if (known && known.length >= length) return typeof known.place === "number" ? known.place : known.place.subarray(0, length);
    const mem = kernelMemory();
    const place = mem && mem.top + length <= HEAP_VALUES_LIMIT ? mem.alloc(length) : new Float32Array(length);
    this.places.set(id, { place, length });
    return place;
  }
}

/** Where each node's buffer is: the kernel memory for one call (Slots), or arrays of their own kept across calls. */
export interface Places {
  place(id: number, length: number): Place;
}

/**
 * Each node's buffer an array of its own, the same one from call to call (its values are written over: whoever
 * keeps one past the next call copies it). A new array costs page faults on this kind of machine (about a
 * millisecond a megabyte); one reused costs nothing.
 */
export class OwnArrays<K = number> {
  private readonly arrays = new Map<K, Float32Array>();
  /** The same array each time for the same length (its identity can key what is kept of it), a view of it when shorter. */
  place(id: K, length: number): Float32Array {
    let a = this.arrays.get(id);
    if (!a || a.length < length) this.arrays.set(id, (a = new Float32Array(length)));
    return a.length === length ? a : a.subarray(0, length);
  }
}

/** Node `id`'s buffer: from `pool` when there is one, else a new array. */
export const placeFor = (pool: Places | undefined, id: number, length: number): Place => (pool ? pool.place(id, length) : new Float32Array(length));

/** A place's floats as an array (a view of the kernel memory stays valid only until the memory next grows). */
export const viewOf = (p: Place, length: number): Float32Array => (typeof p === "number" ? kernelMemory()!.heap.subarray(p, p + length) : p);

/** The value written at a place. */
export function rowsAt(p: Place, length: number, shape: readonly number[], shared: boolean, rows: number): Rows {
  return typeof p === "number" ? new HeapRows(p, length, shape, shared, rows) : { data: p.length === length ? p : p.subarray(0, length), shape, shared, rows };
}

/** A value's offset in the kernel memory (in floats), or undefined when it is an array of its own. */
export function heapOffset(v: Rows): number | undefined {
  return v instanceof HeapRows ? v.at : kernelMemory()?.offsetOf(v.data);
}

/** The same value with another shape (a reshape), kept where it is. */
export const reshaped = (v: Rows, shape: readonly number[]): Rows =>
  v instanceof HeapRows ? new HeapRows(v.at, v.length, shape, v.shared, v.rows) : { data: v.data, shape, shared: v.shared, rows: v.rows };

/** Rows t·B … t·B+R−1 of a per-row value in blocks of B rows (a view, kept in the kernel memory when the value is). */
export function blockOf(v: Rows, t: number, B: number, R = B): Rows {
  if (v instanceof HeapRows) {
    const size = v.length / v.rows;
    return new HeapRows(v.at + t * B * size, R * size, v.shape, false, R);
  }
  const size = v.data.length / v.rows;
  return { data: v.data.subarray(t * B * size, (t * B + R) * size), shape: v.shape, shared: false, rows: R };
}
