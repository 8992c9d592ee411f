// Optimization passes: each keeps the IR valid (verifier after every pass) and its meaning (interpreter within 1e-5).
import { describe, expect, it } from "vitest";
import { runCell } from "../src/interp/run-cell.js";
import { mulberry32 } from "../src/interp/random.js";
import { alloc } from "../src/interp/tensor.js";
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
    expect(opt.nodes.filter((n) => n.op === Op.Concat && !n.batched)).toHaveLength(2);
  });

  it("puts the input projection and its biases ahead of the recurrent term", () => {
    const stateFree = new Set<number>();
    for (const n of opt.nodes) if (n.op !== Op.StateRead && n.args.every((a) => stateFree.has(a))) stateFree.add(n.id);
    // Every gate pre-activation is (state-free part) + (recurrent part).
    const preActs = opt.nodes.filter((n) => n.op === Op.Add && n.args.some((a) => stateFree.has(a)) && n.args.some((a) => !stateFree.has(a)));
    expect(preActs.length).toBe(4);
    for (const p of preActs) expect(opt.nodes[p.args[0]!]!.op).toBe(Op.Add); // x-projection + bias, computed before the loop
  });

  it("removes dead code and duplicates", () => {
    const ir = cellFrom(`cell D<I, H> { input x: [I]  param W: [H, I]  unused = tanh(W @ x)  a = W @ x  b = W @ x  output y = a + b }`);
    const opt2 = optimize(ir);
    expect(opt2.nodes.filter((n) => n.op === Op.MatMul)).toHaveLength(1);
    expect(opt2.nodes.some((n) => n.op === Op.Tanh)).toBe(false);
  });
});
