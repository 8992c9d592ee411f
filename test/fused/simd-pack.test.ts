// The WebAssembly copies and packing under the gemm and the batched concat/slice, against plain index arithmetic.
import { describe, expect, it } from "vitest";
import { evalRows } from "../../src/fused/batched.js";
import { kernelMemory } from "../../src/fused/kernel-memory.js";
import { copyRowsInKernel, packers } from "../../src/fused/simd-pack.js";
import { Slots } from "../../src/fused/slots.js";
import { dimConst } from "../../src/ir/dims.js";
import type { Node } from "../../src/ir/ir.js";
import { Op } from "../../src/ir/ops.js";

const mem = kernelMemory()!;
const fill = (at: number, n: number, base: number) => { const h = mem.heap; for (let i = 0; i < n; i++) h[at + i] = base + i; };

describe("packing in the kernel memory", () => {
  it("panels of 8 columns, of 4 transposed rows, and of 4 rows each hold what index arithmetic says", () => {
    mem.release(0);
    const [k, n] = [5, 16];
    const src = mem.alloc(k * n), dst = mem.alloc(k * n);
    fill(src, k * n, 1);
    const p = packers(mem);
    p.panels8(4 * src, 4 * dst, k, n / 8, 4 * n); // B [k, n] → n/8 panels of k × 8
    for (let j0 = 0; j0 < n; j0 += 8) for (let q = 0; q < k; q++) for (let j = 0; j < 8; j++)
      expect(mem.heap[dst + (j0 / 8) * k * 8 + q * 8 + j]).toBe(mem.heap[src + q * n + j0 + j]);
    p.panels4(4 * src, 4 * dst, k, n / 4, 4 * n); // Aᵀ stored [k, m = n] → m/4 panels of k × 4
    for (let i0 = 0; i0 < n; i0 += 4) for (let q = 0; q < k; q++) for (let r = 0; r < 4; r++)
      expect(mem.heap[dst + (i0 / 4) * k * 4 + q * 4 + r]).toBe(mem.heap[src + q * n + i0 + r]);
    const [m, kk] = [8, 10]; // A [m, kk], columns 3 … 8
    fill(src, m * kk, 100);
    p.rows4(4 * (src + 3), 4 * dst, m / 4, 6, 4 * kk);
    for (let i0 = 0; i0 < m; i0 += 4) for (let q = 0; q < 6; q++) for (let r = 0; r < 4; r++)
      expect(mem.heap[dst + (i0 / 4) * 6 * 4 + q * 4 + r]).toBe(mem.heap[src + (i0 + r) * kk + 3 + q]);
    mem.release(0);
  });

  it("copies rows between strides, and declines a row length that is not whole vectors", () => {
    mem.release(0);
    const src = mem.alloc(60), dst = mem.alloc(60);
    fill(src, 60, 1);
    mem.heap.fill(-1, dst, dst + 60);
    expect(copyRowsInKernel(mem, src + 2, dst + 1, 3, 8, 20, 12)).toBe(true);
    for (let r = 0; r < 3; r++) for (let j = 0; j < 8; j++) expect(mem.heap[dst + 1 + r * 12 + j]).toBe(mem.heap[src + 2 + r * 20 + j]);
    expect(mem.heap[dst]).toBe(-1);
    expect(mem.heap[dst + 9]).toBe(-1); // between rows: untouched
    expect(copyRowsInKernel(mem, src, dst, 2, 6, 6, 6)).toBe(false);
    mem.release(0);
  });
});

describe("concatenation and slices of rows kept in the kernel memory", () => {
  const node = (op: Op, shape: number[], attrs: Record<string, number> = {}): Node =>
    ({ id: 0, op, args: [], shape: shape.map(dimConst), attrs: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, dimConst(v)])), batched: true }) as unknown as Node;
  for (const sizes of [[8, 4, 12], [3, 5, 4]]) // whole vectors (the WebAssembly copy) and not (JS)
    it(`concat of rows of ${sizes.join(", ")} floats, one part shared, equals the rows side by side`, () => {
      mem.release(0);
      const R = 5, S = sizes.reduce((a, b) => a + b);
      const pool = new Slots();
      const parts = sizes.map((n, k) => {
        const shared = k === 1;
        const at = mem.alloc((shared ? 1 : R) * n);
        fill(at, (shared ? 1 : R) * n, 1000 * k);
        return { data: mem.heap.subarray(at, at + (shared ? 1 : R) * n), shape: [n], shared, rows: shared ? 1 : R };
      });
      const out = evalRows(node(Op.Concat, [S]), parts, new Map(), R, pool);
      const want = Array.from({ length: R }, (_, r) => parts.flatMap((p, k) => Array.from({ length: sizes[k]! }, (_, j) => p.data[(p.shared ? 0 : r * sizes[k]!) + j]!))).flat();
      expect(Array.from(out.data)).toEqual(want);
      const sliced = evalRows(node(Op.Slice, [4], { start: 2, end: 6 }), [out], new Map(), R, pool);
      expect(Array.from(sliced.data)).toEqual(Array.from({ length: R }, (_, r) => want.slice(r * S + 2, r * S + 6)).flat());
      mem.release(0);
    });
});
