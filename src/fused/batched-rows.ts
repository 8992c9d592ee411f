// Per-example matrices over many rows without a tensor per row: products, transposes and last-axis reductions (attention).
import { Op } from "../ir/ops.js";
import { sizeOf } from "../runtime/tensor.js";
import type { Rows } from "./slots.js";

const offsetOf = (v: Rows, r: number): number => (v.shared ? 0 : r * sizeOf(v.shape));

/**
 * a @ b for each of R rows when either side is per example and the gemm forms (a shared operand) do not apply:
 * [m,k]·[k], [k]·[k,n], [m,k]·[k,n] and [k]·[k]. False for other ranks (nothing written).
 */
export function rowsMatMul(a: Rows, b: Rows, R: number, out: Float32Array): boolean {
  const ra = a.shape.length, rb = b.shape.length;
  if (ra < 1 || ra > 2 || rb < 1 || rb > 2) return false;
  const m = ra === 2 ? a.shape[0]! : 1, k = a.shape[ra - 1]!, n = rb === 2 ? b.shape[1]! : 1;
  if (b.shape[0] !== k) return false;
  const A = a.data, Bd = b.data, size = m * n;
  for (let r = 0; r < R; r++) {
    const oa = offsetOf(a, r), ob = offsetOf(b, r), o = r * size;
    // Each sum in a double, rounded once (the interpreter's arithmetic).
    for (let i = 0; i < m; i++) {
      const ai = oa + i * k, oi = o + i * n;
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) sum += A[ai + p]! * Bd[ob + p * n + j]!;
        out[oi + j] = sum;
      }
    }
  }
  return true;
}

/** The transpose of each row's matrix [m, n] → [n, m]. */
export function rowsTranspose(x: Rows, R: number, out: Float32Array): boolean {
  if (x.shape.length !== 2) return false;
  const [m, n] = x.shape as [number, number];
  const d = x.data;
  for (let r = 0; r < R; r++) {
    const ox = offsetOf(x, r), o = r * m * n;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[o + j * m + i] = d[ox + i * n + j]!;
  }
  return true;
}

/** softmax, log_softmax, sum or mean over the last axis of each row's value: the interpreter's arithmetic (lastAxis). */
export function rowsLastAxis(op: Op, x: Rows, R: number, out: Float32Array): boolean {
  if (op !== Op.Softmax && op !== Op.LogSoftmax && op !== Op.Sum && op !== Op.Mean) return false;
  const n = x.shape[x.shape.length - 1] ?? 1;
  const per = sizeOf(x.shape) / n; // runs of n per example
  const d = x.data;
  const reduces = op === Op.Sum || op === Op.Mean;
  for (let r = 0; r < R; r++)
    for (let q = 0; q < per; q++) {
      const at = offsetOf(x, r) + q * n, o = reduces ? r * per + q : r * per * n + q * n;
      if (reduces) {
        let s = 0;
        for (let j = 0; j < n; j++) s += d[at + j]!;
        out[o] = op === Op.Mean ? s / n : s;
        continue;
      }
      let max = -Infinity;
      for (let j = 0; j < n; j++) if (d[at + j]! > max) max = d[at + j]!;
      let z = 0;
      for (let j = 0; j < n; j++) z += Math.exp(d[at + j]! - max);
      if (op === Op.Softmax) for (let j = 0; j < n; j++) out[o + j] = Math.exp(d[at + j]! - max) / z;
      else { const lz = Math.log(z); for (let j = 0; j < n; j++) out[o + j] = d[at + j]! - max - lz; }
    }
  return true;
}

/** reduce_to a shape that ends the value's own (sums over the leading axes): [S, A] → [A]. False for other shapes. */
export function rowsReduceTo(x: Rows, shape: readonly number[], R: number, out: Float32Array): boolean {
  const lead = x.shape.length - shape.length;
  if (lead < 0 || !shape.every((s, i) => s === x.shape[lead + i])) return false;
  const n = sizeOf(shape), times = sizeOf(x.shape) / n, d = x.data;
  for (let r = 0; r < R; r++) {
    const ox = offsetOf(x, r), o = r * n;
    for (let j = 0; j < n; j++) out[o + j] = 0;
    for (let t = 0; t < times; t++) for (let j = 0; j < n; j++) out[o + j] += d[ox + t * n + j]!;
  }
  return true;
}
