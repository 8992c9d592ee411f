// fuse-matmul: products that share an operand become one product with stacked weights.
import { describe, expect, it } from "vitest";
import { shapeToString } from "../../src/ir/dims.js";
import { Op } from "../../src/ir/ops.js";
import { fuseMatmuls } from "../../src/passes/fuse-matmul.js";
import { cellFrom, stdlibCell } from "../helpers.js";
import { cells, expectSameMeaning } from "./common.js";

describe("fuse-matmul", () => {
  it("fuses an LSTM's four gate products on x into one [4*H] product, and likewise on h[t-1]", () => {
    const ir = stdlibCell("lstm.rnn", "LSTM");
    const out = fuseMatmuls(ir);
    expect(ir.nodes.filter((n) => n.op === Op.MatMul)).toHaveLength(8);
    expect(out.nodes.filter((n) => n.op === Op.MatMul).map((m) => shapeToString(m.shape))).toEqual(["[4*H]", "[4*H]"]);
    expect(out.nodes.filter((n) => n.op === Op.Concat && !n.batched).map((n) => shapeToString(n.shape))).toEqual(["[4*H, I]", "[4*H, H]"]);
    expectSameMeaning(ir, out);
  });

  it("leaves products with different operands alone", () => {
    const ir = cellFrom(`cell D<I, H> { input x: [I]  state h: [H] = 0  param W: [H, I]  param U: [H, H]  h = tanh(W @ x + U @ h[t-1])  output h }`);
    expect(fuseMatmuls(ir).nodes.filter((n) => n.op === Op.MatMul)).toHaveLength(2);
  });

  it.each(cells)("keeps the meaning of %s", (_, make) => {
    const ir = make();
    expectSameMeaning(ir, fuseMatmuls(ir));
  });
});
