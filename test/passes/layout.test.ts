// layout: W @ x with a static W becomes x @ transpose(W), the transpose computed once outside the loop.
import { describe, expect, it } from "vitest";
import { Op } from "../../src/ir/ops.js";
import { chooseLayouts } from "../../src/passes/layout.js";
import { cellFrom } from "../helpers.js";
import { cells, expectSameMeaning } from "./common.js";

describe("layout", () => {
  it("multiplies the batched vector by the transposed static matrix, one transpose per matrix", () => {
    const ir = cellFrom(`cell D<I, H> { input x: [I]  param W: [H, I]  output y = W @ x + W @ (2 * x) }`);
    const out = chooseLayouts(ir);
    const products = out.nodes.filter((n) => n.op === Op.MatMul);
    expect(products).toHaveLength(2);
    for (const p of products) {
      expect(out.nodes[p.args[0]!]!.batched).toBe(true);
      expect(out.nodes[p.args[1]!]!.op).toBe(Op.Transpose);
    }
    expect(out.nodes.filter((n) => n.op === Op.Transpose)).toHaveLength(1);
    expectSameMeaning(ir, out);
  });

  it("leaves products of two static values alone", () => {
    const ir = cellFrom(`cell D<I, H> { input x: [I]  param W: [H, I]  param V: [I, I]  output y = (W @ V) @ x }`);
    expect(chooseLayouts(ir).nodes.filter((n) => n.op === Op.Transpose)).toHaveLength(1);
  });

  it.each(cells)("keeps the meaning of %s", (_, make) => {
    const ir = make();
    expectSameMeaning(ir, chooseLayouts(ir));
  });
});
