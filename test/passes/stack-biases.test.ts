// stack-biases: the gates' biases are added to the input product they are sliced from once, before the slices.
import { describe, expect, it } from "vitest";
import { shapeToString } from "../../src/ir/dims.js";
import type { CellIR } from "../../src/ir/ir.js";
import { Op } from "../../src/ir/ops.js";
import { optimize } from "../../src/passes/pipeline.js";
import { stackBiases } from "../../src/passes/stack-biases.js";
import { cellFrom, stdlibCell } from "../helpers.js";
import { cells, expectSameMeaning } from "./common.js";

/** The cell after the passes before stack-biases (reassociate, fuse-matmul). */
const upTo = (ir: CellIR) => optimize(ir, new Set(["stack-biases", "stack-adds", "layout", "cse", "dce"]));
/** The adds of an input-dependent, state-free value and a param-only one (bias adds), after all the passes. */
function biasAdds(ir: CellIR) {
  const batched = new Set<number>(), stateFree = new Set<number>();
  for (const n of ir.nodes) {
    if (n.op === Op.Input || n.args.some((a) => batched.has(a))) batched.add(n.id);
    if (n.op !== Op.StateRead && n.args.every((a) => stateFree.has(a))) stateFree.add(n.id);
  }
  return ir.nodes.filter((n) => n.op === Op.Add && stateFree.has(n.id) && n.args.some((a) => batched.has(a)) && n.args.some((a) => !batched.has(a)));
}

describe("stack-biases", () => {
  it.each([["GRU", "GRU"], ["GRUResetBefore", "GRUResetBefore"], ["LSTM", "LSTM"]])("adds %s's input biases to its stacked input product once", (_, name) => {
    const file = name === "LSTM" ? "lstm.rnn" : "gru.rnn";
    const opt = optimize(stdlibCell(file, name));
    const adds = biasAdds(opt);
    const gates = name === "LSTM" ? 4 : 3;
    // One add, [G*H]: the stacked input product and the stacked biases; no bias added to one gate's slice.
    expect(adds.map((n) => shapeToString(n.shape))).toEqual([`[${gates}*H]`]);
    expect(adds[0]!.args.map((a) => opt.nodes[a]!.op).sort()).toEqual([Op.Concat, Op.MatMul].sort());
  });

  it("stacks a bias computed after the product (b_x + b_h of the GRU) by computing it again before it", () => {
    const before = upTo(stdlibCell("gru.rnn", "GRU"));
    const after = stackBiases(before);
    expect(after.nodes.filter((n) => n.op === Op.Concat && !n.batched && n.shape.length === 1)).toHaveLength(1);
    expectSameMeaning(before, after);
  });

  it("leaves slices alone when one of them is read by anything but a bias add", () => {
    const ir = upTo(cellFrom(`cell C<I, H> { input x: [I]  state h: [H] = 0  param A, B: [H, I]  param b: [H]
      h = tanh(A @ x + b) * (B @ x) + h[t-1]  output h }`));
    expect(stackBiases(ir)).toBe(ir);
  });

  it.each(cells)("keeps the meaning of %s", (_, make) => {
    const ir = upTo(make());
    expectSameMeaning(ir, stackBiases(ir));
  });
});
