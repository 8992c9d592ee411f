// Fused elementwise loops (WebAssembly SIMD and generated JS) against the float64 interpreter, node by node, row by row.
import { afterAll, describe, expect, it } from "vitest";
import { batchRows, sharedRows, type Rows } from "../../src/fused/batched.js";
import { setSimd } from "../../src/fused/gemm.js";
import { planStages, runStages } from "../../src/fused/loops.js";
import { kernel } from "../../src/interp/stepper.js";
import { evalDim } from "../../src/ir/dims.js";
import type { CellIR } from "../../src/ir/ir.js";
import { builtins, builtinsByOp, Op } from "../../src/ir/ops.js";
import { hasSimdForm } from "../../src/fused/simd-loop.js";
import { optimize } from "../../src/passes/pipeline.js";
import { stepVjp } from "../../src/passes/vjp.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { cellFrom, closeness } from "../helpers.js";

afterAll(() => setSimd(true));

const R = 5;
/** Values that find the edges: NaN, infinities, signed zeros, overflow and underflow of exp, tiny and large. */
const special = [NaN, Infinity, -Infinity, 0, -0, 100, -100, 89, -89, 88.5, -87.5, 1e-6, -1e-6, 0.06, -0.07, 20, -20, 3, -3, 0.5];

function values(n: number, rng: () => number, edges: boolean): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (edges && i % 3 === 0 ? special[(i / 3) % special.length]! : 4 * rng() - 2));
}

/** |a − b| ≤ atol + rtol·|b|, NaN only against NaN, an infinity only against the same one. */
function agree(a: number, b: number): boolean {
  if (Number.isNaN(b) || Number.isNaN(a)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(b) || !Number.isFinite(a)) return a === b || Math.abs(b) > 3e38; // f32 overflow of a huge f64 value
  return Math.abs(a - b) <= 1e-6 + 1e-5 * Math.abs(b);
}

/** Each node's shape per example. */
const shapeIn = (g: CellIR, env: Map<string, number>) => (id: number): number[] => g.nodes[id]!.shape.map((d) => evalDim(d, env)!);

/** Random inputs (R rows; `edges`: with the special values) and params, and the values computed from params alone. */
function leafRows(g: CellIR, env: Map<string, number>, rng: () => number, edges: boolean): Rows[] {
  const shape = shapeIn(g, env);
  const size = (id: number) => shape(id).reduce((a, b) => a * b, 1);
  const v: Rows[] = [];
  for (const n of g.nodes) {
    if (n.op === Op.Input) v[n.id] = batchRows(values(R * size(n.id), rng, edges), shape(n.id), R);
    else if (n.op === Op.Param) v[n.id] = sharedRows(values(size(n.id), rng, false), shape(n.id));
    else if (!n.batched) v[n.id] = sharedRows(Float32Array.from(kernel(n, n.args.map((a) => ({ shape: v[a]!.shape, data: v[a]!.data })), env, "f32").data), shape(n.id));
  }
  return v;
}

/**
 * Runs a graph's batched nodes as stages (every value written out) and checks each against the interpreter's float64
 * value of the same node from the same (float32) arguments, row by row: errors are not compounded along the graph.
 */
function check(g: CellIR, env: Map<string, number>, edges: boolean): { loops: number; simd: number; whyJs: string[] } {
  const shape = shapeIn(g, env);
  const v = leafRows(g, env, mulberry32(17), edges);
  const computed = g.nodes.filter((n) => n.batched && n.op !== Op.Input);
  const stages = planStages(computed, g.nodes, env, computed.map((n) => n.id));
  runStages(stages, v, R, env);
  for (let r = 0; r < R; r++) {
    for (const n of computed) {
      const got = rowOf(v[n.id]!, r);
      const want = kernel(n, n.args.map((a) => ({ shape: shape(a), data: Float64Array.from(rowOf(v[a]!, r)) })), env, "f64").data;
      for (let i = 0; i < want.length; i++)
        if (!agree(got[i]!, want[i]!)) expect.fail(`node ${n.id} (${n.op}) row ${r} element ${i}: ${got[i]} vs ${want[i]} (inputs ${n.args.map((a) => Array.from(rowOf(v[a]!, r)).slice(0, 4)).join(" | ")})`);
    }
  }
  const loops = stages.flatMap((s) => (s.kind === "loop" ? [s.loop] : []));
  return { loops: loops.length, simd: loops.filter((l) => l.path === "simd").length, whyJs: loops.flatMap((l) => (l.path === "js" ? [l.whyJs!] : [])) };
}

const rowOf = (v: Rows, r: number): Float32Array => {
  const s = v.data.length / v.rows;
  return v.shared ? v.data : v.data.subarray(r * s, (r + 1) * s);
};

const unaryNames = builtinsByOp().map((names) => names[0]!).filter((f) => !["matmul", "concat", "gather", "transpose", "softmax", "log_softmax", "sum", "mean", "max", "min", "pow"].includes(f));

/** The functions with an f32x4 form, from the SIMD table's rows (the rest run in the generated JS, also when SIMD is on). */
const inSimd = unaryNames.filter((f) => hasSimdForm(builtins.get(f)!.op));

describe("fused loops", () => {
  for (const simd of [true, false]) {
    for (const f of unaryNames)
      it(`${simd ? "simd" : "js"}: ${f}, its gradient, a scalar and a shared param around it`, () => {
        setSimd(simd);
        const cell = optimize(cellFrom(`cell C<H> { input x: [H]  input z: [H]  param w: [H]  output y = ${f}(x * w - z) / 2.5 + ${f}(z) }`));
        const g = stepVjp(cell);
        const env = new Map([["H", 8]]);
        const { loops, simd: compiled, whyJs } = check(g.step, env, true);
        expect(loops).toBeGreaterThan(0);
        if (!simd) {
          expect(compiled).toBe(0);
          expect(whyJs.every((w) => w === "SIMD is off")).toBe(true);
        } else if (inSimd.includes(f)) expect(compiled).toBe(loops);
        else {
          // The loop holding the function runs in JS, and says which op kept it there.
          expect(compiled).toBeLessThan(loops);
          expect(whyJs.join("; ")).toContain(`no f32x4 form for ${builtins.get(f)!.op}`);
        }
        check(g.vjp, env, true);
      });
    it(`${simd ? "simd" : "js"}: slices of a gate vector, max, min, pow, a state, with sizes not a multiple of four`, () => {
      setSimd(simd);
      const cell = optimize(cellFrom(`cell C<H> { input x: [H]  state h: [H] = 0  state c: [H] = 0  param W: [H, H]  param b: [H]
        g = concat(W @ x, W @ h[t-1]) + concat(b, b)
        c = sigmoid(g[0:H]) * c[t-1] + max(tanh(g[H:2*H]), min(x, 0.5))
        h = pow(sigmoid(c), 2) * relu(c)  output y = h }`));
      const g = stepVjp(cell);
      for (const H of [8, 12, 5]) for (const graph of [g.step, g.vjp]) check(graph, new Map([["H", H]]), false);
    });
  }
  it("runs a product added to a value as one accumulating product (LSTM and GRU steps, outputs only kept)", () => {
    setSimd(true);
    for (const name of ["LSTM", "GRUResetBefore"]) {
      const cell = optimize(cellFrom(`import { ${name} } from "std"\ncell C<I, H> { input x: [I]  layer r = ${name}<I, H>  output y = r(x) }`));
      const g = stepVjp(cell).step;
      const env = new Map([["I", 4], ["H", 8]]);
      const shape = shapeIn(g, env);
      const v = leafRows(g, env, mulberry32(23), false);
      const outputs = g.outputs.map((o) => o.node);
      const stages = planStages(g.nodes.filter((n) => n.batched && n.op !== Op.Input), g.nodes, env, outputs);
      expect(stages.some((st) => st.kind === "node" && st.as !== undefined), name).toBe(true);
      runStages(stages, v, R, env);
      for (let r = 0; r < R; r++) {
        const ref: Float64Array[] = [];
        for (const n of g.nodes) {
          const arg = (a: number) => ({ shape: shape(a), data: ref[a] ?? Float64Array.from(rowOf(v[a]!, r)) });
          if (n.batched && n.op !== Op.Input) ref[n.id] = kernel(n, n.args.map(arg), env, "f64").data as Float64Array;
        }
        for (const id of outputs) expect(closeness(rowOf(v[id]!, r), ref[id]!, 1e-5, 1e-6), `${name} output ${id}`).toBeLessThanOrEqual(1);
      }
    }
  });

  for (const simd of [true, false])
    it(`${simd ? "simd" : "js"}: slices of a value from outside, read only by loop members, are read where they are (never copied out)`, () => {
      setSimd(simd);
      const cell = optimize(cellFrom(`cell C<H> { input g: [3*H]  input z: [H]  output y = sigmoid(g[0:H]) * tanh(g[H:2*H]) + g[2*H:3*H] * z  output s = g[H:2*H] * 2 }`));
      const g = stepVjp(cell).step;
      for (const H of [8, 5]) {
        const env = new Map([["H", H]]);
        const v = leafRows(g, env, mulberry32(29), false);
        const outputs = g.outputs.map((o) => o.node);
        const computed = g.nodes.filter((n) => n.batched && n.op !== Op.Input);
        const stages = planStages(computed, g.nodes, env, outputs);
        const members = stages.flatMap((st) => (st.kind === "loop" ? st.loop.members.map((m) => m.node.op) : [st.node.op]));
        // Of the four slices only the kept one (an output) is computed; the rest are offsets into g.
        expect(members.filter((op) => op === Op.Slice).length, `H=${H}`).toBe(g.outputs.some((o) => g.nodes[o.node]!.op === Op.Slice) ? 1 : 0);
        runStages(stages, v, R, env);
        const shape = shapeIn(g, env);
        for (let r = 0; r < R; r++) {
          const ref: Float64Array[] = [];
          for (const n of g.nodes) {
            const arg = (a: number) => ({ shape: shape(a), data: ref[a] ?? Float64Array.from(rowOf(v[a]!, r)) });
            if (n.batched && n.op !== Op.Input) ref[n.id] = kernel(n, n.args.map(arg), env, "f64").data as Float64Array;
          }
          for (const id of outputs) expect(closeness(rowOf(v[id]!, r), ref[id]!, 1e-5, 1e-6), `H=${H} output ${id}`).toBeLessThanOrEqual(1);
        }
      }
    });

  it("simd: tanh, σ and exp within a few float32 ulps of the exact values over a dense sweep of [−20, 20]", () => {
    setSimd(true);
    const g = optimize(cellFrom(`cell C<H> { input x: [H]  output t = tanh(x)  output s = sigmoid(x)  output e = exp(x) }`));
    const H = 4096, env = new Map([["H", H]]);
    const xs = Float32Array.from({ length: H }, (_, i) => -20 + (40 * i) / (H - 1) + (i % 7) * 1e-4);
    const v: Rows[] = [];
    for (const n of g.nodes) if (n.op === Op.Input) v[n.id] = batchRows(xs, [H], 1);
    const computed = g.nodes.filter((n) => n.batched && n.op !== Op.Input);
    const stages = planStages(computed, g.nodes, env, g.outputs.map((o) => o.node));
    runStages(stages, v, 1, env);
    expect(stages.map((st) => (st.kind === "loop" ? st.loop.path : st.node.op))).toEqual(["simd"]);
    const exact = { t: Math.tanh, s: (x: number) => 1 / (1 + Math.exp(-x)), e: Math.exp };
    for (const o of g.outputs) {
      const f = exact[o.name as keyof typeof exact], got = v[o.node]!.data;
      let worst = 0;
      // Error in units of the float32 spacing at the exact value (2^−23 relative; 2^−24 absolute near 0.5 and 1 alike).
      for (let i = 0; i < H; i++) worst = Math.max(worst, Math.abs(got[i]! - f(xs[i]!)) / Math.max(Math.abs(f(xs[i]!)) * 2 ** -23, 2 ** -149));
      expect(worst, o.name).toBeLessThan(8);
    }
  });

  it("compiles the LSTM's and GRU's loops to SIMD", () => {
    setSimd(true);
    for (const name of ["LSTM", "GRU"]) {
      const cell = optimize(cellFrom(`import { ${name} } from "std"\ncell C<I, H> { input x: [I]  layer r = ${name}<I, H>  output y = r(x) }`));
      const g = stepVjp(cell);
      for (const graph of [g.step, g.vjp]) {
        const { loops, simd } = check(graph, new Map([["I", 4], ["H", 8]]), false);
        expect(simd).toBe(loops);
      }
    }
  });

  it("compiles a loop of more than 127 locals to SIMD (local indices are LEB128, no cliff)", () => {
    setSimd(true);
    // 80 members, each with two locals (eight elements per iteration): ~200 locals in one function.
    const chain = Array.from({ length: 80 }, (_, k) => `v${k + 1} = tanh(v${k} * ${(1 + k / 100).toFixed(2)} + z)`).join("\n  ");
    const cell = optimize(cellFrom(`cell C<H> {\n  input x: [H]\n  input z: [H]\n  v0 = x\n  ${chain}\n  output y = v80\n}`));
    const { loops, simd, whyJs } = check(cell, new Map([["H", 8]]), false);
    expect(whyJs).toEqual([]);
    expect(simd).toBe(loops);
  });
});
