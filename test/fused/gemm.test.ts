// The fused kernels' matrix products (WebAssembly SIMD and JS) against a written-out triple loop.
import { afterAll, describe, expect, it } from "vitest";
import { beginFixedScope, fixedMat, gemm, mat, setSimd } from "../../src/fused/gemm.js";
import { weightsChanged } from "../../src/fused/weight-versions.js";
import { kernelMemory } from "../../src/fused/kernel-memory.js";
import { gemmUsesFma, setFma, simdAvailable } from "../../src/fused/simd-gemm.js";
import { enableRelaxedSimd } from "../../src/node/wasm-features.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { closeness } from "../helpers.js";

const rand = (n: number, rng: () => number) => Float32Array.from({ length: n }, () => 2 * rng() - 1);
/** Element (i, j) of a row-major [rows, cols] matrix, or of its transpose when stored so. */
const at = (x: Float32Array, t: boolean, rows: number, cols: number, i: number, j: number) => (t ? x[j * rows + i]! : x[i * cols + j]!);

const fmaHere = enableRelaxedSimd(); // as rnnc's commands do: the fused multiply-add kernels are tested beside the others
afterAll(() => { setSimd(true); setFma(true); });

describe("gemm", () => {
  it("has the SIMD kernel on this machine", () => expect(simdAvailable()).toBe(true));
  const sizes: [number, number, number][] = [[4, 8, 1], [8, 16, 5], [32, 512, 128], [12, 24, 64], [3, 8, 7], [4, 6, 3], [1, 1, 1], [5, 9, 13], [33, 41, 128], [7, 130, 3], [12, 16, 300], [6, 10, 257], [16, 24, 300], [20, 8, 129], [17, 24, 130]]; // k past one block of 128; B packed from 16 rows of A
  it("has relaxed SIMD's fused multiply-add on this machine (Node 20 behind a flag rnnc sets)", () => {
    expect(fmaHere).toBe(true);
    setFma(true);
    expect(gemmUsesFma()).toBe(true);
    setFma(false);
    expect(gemmUsesFma()).toBe(false);
  });
  for (const path of ["simd, fused multiply-add", "simd", "js"] as const)
    for (const [m, n, k] of sizes)
      for (const [ta, tb] of [[false, false], [true, false], [false, true]] as const)
        it(`${path} ${m}×${k} · ${k}×${n}${ta ? ", A stored transposed" : ""}${tb ? ", B stored transposed" : ""}`, () => {
          setSimd(path !== "js");
          setFma(path === "simd, fused multiply-add");
          const rng = mulberry32(m * 131 + n * 7 + k);
          const A = rand(m * k + 3, rng), B = rand(k * n + 5, rng), C0 = rand(m * n + 2, rng);
          const want = Float64Array.from({ length: m * n }, (_, x) => {
            const [i, j] = [Math.floor(x / n), x % n];
            let s = C0[2 + x]!;
            for (let q = 0; q < k; q++) s += at(A.subarray(3), ta, m, k, i, q) * at(B.subarray(5), tb, k, n, q, j);
            return s;
          });
          const C = Float32Array.from(C0);
          gemm(m, n, k, mat(A, 3, ta), mat(B, 5, tb), C, 2, true);
          expect(closeness(C.subarray(2), want, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
          expect(C.subarray(0, 2)).toEqual(C0.subarray(0, 2)); // nothing outside C written
          const D = new Float32Array(m * n).fill(7);
          gemm(m, n, k, mat(A, 3, ta), mat(B, 5, tb), D);
          expect(closeness(D, want.map((v, x) => v - C0[2 + x]!), 1e-5, 1e-5)).toBeLessThanOrEqual(1);
          // A row every row of the product starts from (a bias): C is written, never read.
          const row = rand(n, rng), E = new Float32Array(m * n).fill(NaN);
          gemm(m, n, k, mat(A, 3, ta), mat(B, 5, tb), E, 0, false, row);
          expect(closeness(E, want.map((v, x) => v - C0[2 + x]! + row[x % n]!), 1e-5, 1e-5)).toBeLessThanOrEqual(1);
          // Rows the product's rows start from (a step's block of a hoisted projection): C written, never read.
          const rows = rand(m * n, rng), F = new Float32Array(m * n).fill(NaN);
          gemm(m, n, k, mat(A, 3, ta), mat(B, 5, tb), F, 0, false, rows, true);
          expect(closeness(F, want.map((v, x) => v - C0[2 + x]! + rows[x]!), 1e-5, 1e-5)).toBeLessThanOrEqual(1);
        });
});

describe("fixed matrices", () => {
  it("over a long inner dimension (several blocks, each kept once) equal the plain product", () => {
    setSimd(true);
    const rng = mulberry32(78);
    const [m, n, k] = [9, 20, 300];
    const A = rand(m * k, rng), W = rand(k * n, rng);
    const want = Float64Array.from({ length: m * n }, (_, x) => {
      let s = 0;
      for (let q = 0; q < k; q++) s += A[Math.floor(x / n) * k + q]! * W[q * n + (x % n)]!;
      return s;
    });
    beginFixedScope();
    for (let rep = 0; rep < 2; rep++) {
      const C = new Float32Array(m * n);
      gemm(m, n, k, mat(A), fixedMat(W), C);
      expect(closeness(C, want, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
    }
  });

  for (const [m, n, k] of [[8, 16, 12], [9, 20, 300], [32, 512, 128], [5, 13, 7]] as const)
    it(`stored transposed (a weight read as Wᵀ), ${m}×${k} · ${k}×${n}: packed from where it is, equal to the product`, () => {
      setSimd(true);
      const rng = mulberry32(m + n + k);
      const A = rand(m * k, rng), Wt = rand(n * k + 3, rng); // Wᵀ stored as [n, k] from offset 3
      const want = Float64Array.from({ length: m * n }, (_, x) => {
        let sum = 0;
        for (let q = 0; q < k; q++) sum += A[Math.floor(x / n) * k + q]! * Wt[3 + (x % n) * k + q]!;
        return sum;
      });
      beginFixedScope();
      for (let rep = 0; rep < 2; rep++) { // the second time from its packed copy
        const C = new Float32Array(m * n);
        gemm(m, n, k, mat(A), { ...fixedMat(Wt, true), off: 3 }, C);
        expect(closeness(C, want, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
      }
    });

  it("are packed once per version: kept across kernel calls until their owner says they changed in place (weightsChanged)", () => {
    setSimd(true);
    const rng = mulberry32(77);
    const [m, n, k] = [8, 16, 12];
    const A = rand(m * k, rng), W = rand(k * n, rng);
    const product = () => { const C = new Float32Array(m * n); gemm(m, n, k, mat(A), fixedMat(W), C); return C; };
    beginFixedScope();
    const first = product();
    expect(product()).toEqual(first);
    W.forEach((v, i) => { W[i] = v * 2; }); // an optimizer step in place, not yet declared
    beginFixedScope();
    expect(product()).toEqual(first); // the packed copy of this version is what the kernel reads: packed once, not per call
    weightsChanged([W]);
    beginFixedScope();
    expect(closeness(product(), first.map((v) => 2 * v), 1e-5, 1e-5)).toBeLessThanOrEqual(1);
    // A new array with the same values as the old is other weights: packed afresh.
    const W2 = Float32Array.from(W, (v) => v / 2);
    beginFixedScope();
    const C = new Float32Array(m * n);
    gemm(m, n, k, mat(A), fixedMat(W2), C);
    expect(closeness(C, first, 1e-6, 1e-6)).toBeLessThanOrEqual(1);
  });
});

/** A fresh kernel memory (SIMD on), seeded operands A [m, k], W [k, n], C0 [m, n], and A·W (+ C0 with `accumulate`) on plain arrays. */
function heldOperands(m: number, n: number, k: number, seed: number, accumulate: boolean) {
  setSimd(true);
  beginFixedScope();
  const rng = mulberry32(seed);
  const A = rand(m * k, rng), W = rand(k * n, rng), C0 = rand(m * n, rng);
  const want = Float32Array.from(C0);
  gemm(m, n, k, mat(A), mat(W), want, 0, accumulate);
  return { mem: kernelMemory()!, A, W, C0, want };
}

describe("rows to start from kept in the kernel memory", () => {
  // The sum of a state's product and its step's block of the hoisted projection: the block is read where it is (at
  // the memory's very start too, offset 0), or is the product's own place (C written over the rows it starts from).
  const shapes: [number, number, number][] = [[32, 512, 128], [8, 16, 5], [9, 16, 5], [8, 12, 5], [12, 16, 300]];
  for (const [m, n, k] of shapes)
    for (const where of ["at offset 0", "C elsewhere in the memory", "C is the rows"] as const)
      it(`${m}×${k} · ${k}×${n}, the rows ${where}: equal rows + A·B`, () => {
        const { mem, A, W, C0: R0, want } = heldOperands(m, n, k, m + 7 * n + 11 * k, true);
        if (where !== "at offset 0") mem.alloc(37);
        const rAt = mem.alloc(m * n);
        const cAt = where === "C is the rows" ? rAt : where === "C elsewhere in the memory" ? mem.alloc(m * n) : -1;
        mem.heap.set(R0, rAt);
        const C = cAt < 0 ? new Float32Array(m * n).fill(NaN) : mem.heap.subarray(cAt, cAt + m * n);
        if (cAt >= 0 && cAt !== rAt) C.fill(NaN);
        gemm(m, n, k, mat(A), fixedMat(W), C, 0, false, mem.heap.subarray(rAt, rAt + m * n), true);
        const got = cAt < 0 ? C : mem.heap.subarray(cAt, cAt + m * n);
        expect(closeness(got, want, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
        if (cAt !== rAt) expect(mem.heap.subarray(rAt, rAt + m * n)).toEqual(R0); // the rows are read, not written
        beginFixedScope();
      });
});

describe("an A kept in the kernel memory with rows not a multiple of four", () => {
  // Its last panel of rows is read whole, past A's end, into rows of C that are dropped: whatever lies there (NaN
  // here) must not reach C; and where A ends the memory, nothing past it can be read (it is copied first).
  for (const [m, n, k, aT] of [[5, 16, 9, false], [33, 40, 128, false], [7, 24, 200, false], [6, 16, 9, true], [31, 128, 64, true]] as const)
    for (const atEnd of [false, true])
      it(`${m}×${k} · ${k}×${n}${aT ? ", A stored transposed" : ""}, ${atEnd ? "at the very end of the memory" : "NaN after it"}`, () => {
        const { mem, A, W, want } = heldOperands(m, n, k, m + 2 * n + 3 * k, false);
        const At = aT ? Float32Array.from({ length: k * m }, (_, i) => A[(i % m) * k + Math.floor(i / m)]!) : A;
        mem.release(0);
        if (atEnd) mem.alloc(mem.heap.length - m * k);
        const aAt = mem.alloc(m * k);
        mem.heap.set(At, aAt);
        if (!atEnd) mem.heap.fill(NaN, aAt + m * k, Math.min(mem.heap.length, aAt + m * k + 4 * k + 8));
        const C = new Float32Array(m * n).fill(7);
        gemm(m, n, k, mat(mem.heap.subarray(aAt, aAt + m * k), 0, aT), mat(W), C);
        expect(closeness(C, want, 1e-6, 1e-6)).toBeLessThanOrEqual(1);
        expect(mem.heap.subarray(aAt, aAt + m * k)).toEqual(At);
        mem.release(0);
        beginFixedScope();
      });
});

describe("operands kept in the kernel memory", () => {
  // Values a kernel call keeps in the kernel memory are read and written in place; the product's own scratch space
  // may grow the memory while they are in use (which detaches every view taken before): each case makes it grow.
  const shapes: [number, number, number][] = [[32, 512, 128], [8, 16, 5], [5, 9, 13], [12, 16, 300], [33, 40, 128]];
  for (const [m, n, k] of shapes)
    for (const [accumulate, bHeld] of [[false, false], [true, false], [true, true]] as const)
      it(`${m}×${k} · ${k}×${n}${accumulate ? ", accumulating" : ""}${bHeld ? ", B kept too" : ""}: equal the same product on plain arrays`, () => {
        const { mem, A, W, C0, want } = heldOperands(m, n, k, m + 3 * n + 5 * k, accumulate);
        // A and C (and B) placed at the very end of the memory as it is: any scratch space makes it grow.
        const size = m * k + m * n + (bHeld ? k * n : 0) + 12;
        mem.alloc(size);
        mem.release(0);
        mem.alloc(mem.heap.length - size);
        const [aAt, cAt] = [mem.alloc(m * k), mem.alloc(m * n)];
        const bAt = bHeld ? mem.alloc(k * n) : -1;
        const bytesBefore = mem.heap.buffer.byteLength;
        let heap = mem.heap;
        heap.set(A, aAt);
        heap.set(C0, cAt);
        if (bHeld) heap.set(W, bAt);
        const held = mem.top;
        gemm(m, n, k, mat(heap.subarray(aAt, aAt + m * k)), mat(bHeld ? heap.subarray(bAt, bAt + k * n) : W), heap.subarray(cAt, cAt + m * n), 0, accumulate);
        heap = mem.heap;
        if (!bHeld || m % 4 || n % 8 || k > 128) expect(heap.buffer.byteLength).toBeGreaterThan(bytesBefore);
        expect(closeness(heap.subarray(cAt, cAt + m * n), want, 1e-6, 1e-6)).toBeLessThanOrEqual(1);
        expect(heap.subarray(aAt, aAt + m * k)).toEqual(A);
        if (bHeld) expect(heap.subarray(bAt, bAt + k * n)).toEqual(W);
        expect(mem.top).toBe(held); // its scratch space given back
        beginFixedScope();
      });
});
