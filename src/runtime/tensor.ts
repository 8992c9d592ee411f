// Dense row-major tensors for the reference interpreter, in float32 or float64.

export type Precision = "f32" | "f64";
export type Data = Float32Array | Float64Array;

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Data;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function alloc(shape: readonly number[], precision: Precision): Tensor {
  const n = sizeOf(shape);
  return { shape: [...shape], data: precision === "f64" ? new Float64Array(n) : new Float32Array(n) };
}

export function precisionOf(t: Tensor): Precision {
  return t.data instanceof Float64Array ? "f64" : "f32";
}

/** Converts to nested arrays (plain numbers), batch first. */
export function toNested(t: Tensor): unknown {
  const rec = (offset: number, axis: number): unknown => {
    if (axis === t.shape.length) return t.data[offset]!;
    const stride = sizeOf(t.shape.slice(axis + 1));
    return Array.from({ length: t.shape[axis]! }, (_, i) => rec(offset + i * stride, axis + 1));
  };
  return rec(0, 0);
}

/** The sub-tensor at index `i` of the first axis (a copy). */
export function index0(t: Tensor, i: number, precision: Precision = precisionOf(t)): Tensor {
  const inner = t.shape.slice(1);
  const n = sizeOf(inner);
  const out = alloc(inner, precision);
  out.data.set(t.data.subarray(i * n, (i + 1) * n));
  return out;
}

/** Stacks equally shaped tensors along a new first axis. */
export function stack(ts: readonly Tensor[], inner: readonly number[], precision: Precision): Tensor {
  const out = alloc([ts.length, ...inner], precision);
  const n = sizeOf(inner);
  ts.forEach((t, i) => out.data.set(t.data, i * n));
  return out;
}
