// Matrix products on Float32Arrays for the fused kernels: C = A·B (or C += A·B), with either operand stored transposed.

import { forgetFixedInKernel, simdAvailable, simdGemm } from "./simd-gemm.js";

/** Whether products run in the WebAssembly SIMD kernel when their sizes fit (tests compare both paths). */
let useSimd = true;
export function setSimd(on: boolean): void {
  useSimd = on;
}
export const simdEnabled = (): boolean => useSimd;

/** A row-major matrix inside a Float32Array: element (i, j) at data[off + i * cols + j] (`t`: stored transposed). */
export interface Mat { readonly data: Float32Array; readonly off: number; readonly t: boolean; readonly fixed?: boolean }

export const mat = (data: Float32Array, off = 0, t = false): Mat => ({ data, off, t });

/** Scratch space for transposed copies, grown as needed (the fused kernels are single-threaded). */
let scratchA = new Float32Array(0);
let scratchB = new Float32Array(0);

/** Transposed copies of values that do not change (weights, within one kernel call), by their array. */
let fixedTransposes = new WeakMap<Float32Array, Float32Array>();

/**
 * Starts a kernel call: matrices marked fixed are fixed only within one call (a caller may update its weights in
 * place between calls), so what was kept for them is forgotten.
 */
export function beginFixedScope(): void {
  fixedTransposes = new WeakMap();
  forgetFixedInKernel();
}

/** A matrix that will not change while it is in use: its transposed copy is made once and reused. */
export const fixedMat = (data: Float32Array, t = false): Mat => ({ data, off: 0, t, fixed: true });

/** A's [rows, cols] in plain row-major form: itself, or a transposed copy (cached for fixed matrices, else in scratch space). */
function plain(x: Mat, rows: number, cols: number, which: "a" | "b"): { data: Float32Array; off: number } {
  if (!x.t) return { data: x.data, off: x.off };
  if (x.fixed) {
    let c = fixedTransposes.get(x.data);
    if (!c || c.length !== rows * cols) {
      c = new Float32Array(rows * cols);
      for (let j = 0; j < cols; j++) for (let i = 0; i < rows; i++) c[i * cols + j] = x.data[x.off + j * rows + i]!;
      fixedTransposes.set(x.data, c);
    }
    return { data: c, off: 0 };
  }
  let s = which === "a" ? scratchA : scratchB;
  if (s.length < rows * cols) {
    s = new Float32Array(rows * cols * 2);
    if (which === "a") scratchA = s;
    else scratchB = s;
  }
  // stored [cols, rows]
  for (let j = 0; j < cols; j++) {
    const src = x.off + j * rows;
    for (let i = 0; i < rows; i++) s[i * cols + j] = x.data[src + i]!;
  }
  return { data: s, off: 0 };
}

/**
 * C[m, n] = A[m, k] · B[k, n] (`accumulate`: C += …; `rowInit`, without accumulate: C = r + A·B, the row r of n floats
 * added to every row, as a bias, or with `initRows` C = R + A·B, R the m rows of n floats at `rowInit`). Four rows of C take each row of B in turn, so every load of B
 * feeds four multiply-adds; the inner loop runs over contiguous memory. Sums are float32, as tfjs' products.
 */
export function gemm(m: number, n: number, k: number, A: Mat, B: Mat, C: Float32Array, cOff = 0, accumulate = false, rowInit?: Float32Array, initRows = false): void {
  const simd = useSimd && m * n * k >= 64 && simdAvailable();
  // A fixed B stored transposed (a weight read as Wᵀ) is packed for the kernel from where it is, never transposed.
  if (simd && B.t && B.fixed && simdGemm(m, n, k, A.data, A.off, A.t, B.data, B.off, C, cOff, accumulate, true, accumulate ? undefined : rowInit, true, initRows)) return;
  const b = plain(B, k, n, "b");
  if (simd) {
    simdGemm(m, n, k, A.data, A.off, A.t, b.data, b.off, C, cOff, accumulate, B.fixed === true, accumulate ? undefined : rowInit, false, initRows);
    return;
  }
  const a = plain(A, m, k, "a");
  const ad = a.data, bd = b.data;
  if (!accumulate && rowInit) for (let i = 0; i < m; i++) C.set(rowInit.subarray(initRows ? i * n : 0, initRows ? (i + 1) * n : n), cOff + i * n);
  else if (!accumulate) C.fill(0, cOff, cOff + m * n);
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0 = a.off + i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
    const c0 = cOff + i * n, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n;
    for (let q = 0; q < k; q++) {
      const x0 = ad[a0 + q]!, x1 = ad[a1 + q]!, x2 = ad[a2 + q]!, x3 = ad[a3 + q]!;
      const br = b.off + q * n;
      for (let j = 0; j < n; j++) {
        const y = bd[br + j]!;
        C[c0 + j] += x0 * y;
        C[c1 + j] += x1 * y;
        C[c2 + j] += x2 * y;
        C[c3 + j] += x3 * y;
      }
    }
  }
  for (; i < m; i++) {
    const ai = a.off + i * k, ci = cOff + i * n;
    for (let q = 0; q < k; q++) {
      const x = ad[ai + q]!;
      const br = b.off + q * n;
      for (let j = 0; j < n; j++) C[ci + j] += x * bd[br + j]!;
    }
  }
}
