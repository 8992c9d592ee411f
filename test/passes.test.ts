// Optimization passes: each keeps the IR valid (verifier after every pass) and its meaning (interpreter within 1e-5).
import { describe, expect, it } from "vitest";
import { runCell } from "../src/interp/run-cell.js";
import { mulberry32 } from "../src/runtime/random.js";
import { alloc } from "../src/runtime/tensor.js";
import type { CellIR } from "../src/ir/ir.js";
import { Op } from "../src/ir/ops.js";
import { shapeToString } from "../src/ir/dims.js";
import { verifyCellIR } from "../src/ir/verify.js";
import { optimize, passes } from "../src/passes/pipeline.js";
import { cellParamSpecs, initParams } from "../src/weights/weights.js";
import { cellFrom, closeness, stdlibCell } from "./helpers.js";

const cells: [string, () => CellIR][] = [
  ["Elman", () => stdlibCell("elman.rnn", "Elman")],
  ["LSTM", () => stdlibCell("lstm.rnn", "LSTM")],
  ["PeepholeLSTM", () => stdlibCell("lstm.rnn", "PeepholeLSTM")],
  ["GRU", () => stdlibCell("gru.rnn", "GRU")],
  ["GRUResetBefore", () => stdlibCell("gru.rnn", "GRUResetBefore")],
  ["second order with a layer", () => cellFrom(`import { LSTM } from "std"
    cell C<I, H> { input x: [I]  state h: [H] = 0  param A, B2: [H, H]  layer l = LSTM<I, H>
      h = tanh(A @ h[t-1] + l(x) + B2 @ h[t-2] + A @ h[t-1])  output h }`)],
];

function run(ir: CellIR, seed: number) {
  const env = new Map([["I", 3], ["H", 5]]);
  const rng = mulberry32(seed);
  const x = alloc([2, 6, 3], "f32");
  x.data.forEach((_, i) => { x.data[i] = 2 * rng() - 1; });
  return runCell(ir, env, initParams(cellParamSpecs(ir, env), seed), { inputs: { x } });
}

describe.each(cells)("passes on %s", (_name, make) => {
  it("keep the IR valid after every pass and the outputs within 1e-5", () => {
    const ir = make();
    const opt = optimize(ir, new Set(), (pass, after) => expect(verifyCellIR(after), `after ${pass}`).toEqual([]));
    const a = run(ir, 3);
    const b = run(opt, 3);
    for (const o of ir.outputs) expect(closeness(b.outputs[o.name]!.data, a.outputs[o.name]!.data)).toBeLessThanOrEqual(1);
    for (const s of ir.states) expect(closeness(b.states[s.name]!.data, a.states[s.name]!.data)).toBeLessThanOrEqual(1);
  });

  it.each(passes.map((p) => p.name))("each pass alone (%s) keeps the meaning", (only) => {
    const ir = make();
    const opt = optimize(ir, new Set(passes.map((p) => p.name).filter((n) => n !== only)));
    expect(verifyCellIR(opt)).toEqual([]);
    const a = run(ir, 4);
    const b = run(opt, 4);
    for (const o of ir.outputs) expect(closeness(b.outputs[o.name]!.data, a.outputs[o.name]!.data)).toBeLessThanOrEqual(1);
  });
});

describe("what the passes do to an LSTM", () => {
  const opt = optimize(stdlibCell("lstm.rnn", "LSTM"));
  const matmuls = opt.nodes.filter((n) => n.op === Op.MatMul);

  it("fuses the four gate products on x into one [4*H] product, and likewise on h[t-1]", () => {
    expect(matmuls).toHaveLength(2);
    expect(matmuls.map((m) => shapeToString(m.shape))).toEqual(["[4*H]", "[4*H]"]);
    // The stacked input weights, the stacked recurrent weights, and the stacked biases.
    expect(opt.nodes.filter((n) => n.op === Op.Concat && !n.batched).map((n) => shapeToString(n.shape))).toEqual(["[4*H, I]", "[4*H, H]", "[4*H]"]);
  });

  it("adds the stacked input projection with its biases to the recurrent product once, then slices the gates", () => {
    const stateFree = new Set<number>();
    for (const n of opt.nodes) if (n.op !== Op.StateRead && n.args.every((a) => stateFree.has(a))) stateFree.add(n.id);
    // One pre-activation for all gates: (state-free part, computed before the loop) + (recurrent part).
    const preActs = opt.nodes.filter((n) => n.op === Op.Add && n.args.some((a) => stateFree.has(a)) && n.args.some((a) => !stateFree.has(a)));
    expect(preActs.map((p) => shapeToString(p.shape))).toEqual(["[4*H]"]);
    const [free] = preActs[0]!.args.map((a) => opt.nodes[a]!);
    expect(free!.op).toBe(Op.Add); // x @ W + (b_i ⧺ b_f ⧺ b_g ⧺ b_o)
    const gates = opt.nodes.filter((n) => n.op === Op.Slice && n.args[0] === preActs[0]!.id);
    expect(gates).toHaveLength(4);
  });

  it("removes dead code and duplicates", () => {
    const ir = cellFrom(`cell D<I, H> { input x: [I]  param W: [H, I]  unused = tanh(W @ x)  a = W @ x  b = W @ x  output y = a + b }`);
    const opt2 = optimize(ir);
    expect(opt2.nodes.filter((n) => n.op === Op.MatMul)).toHaveLength(1);
    expect(opt2.nodes.some((n) => n.op === Op.Tanh)).toBe(false);
  });
});
