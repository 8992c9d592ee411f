// cse: one node per distinct computation.
import { describe, expect, it } from "vitest";
import { Op } from "../../src/ir/ops.js";
import { commonSubexpressions } from "../../src/passes/cse.js";
import { cellFrom } from "../helpers.js";
import { cells, expectSameMeaning } from "./common.js";

describe("cse", () => {
  it("merges equal products and keeps different ones", () => {
    const ir = cellFrom(`cell D<I, H> { input x: [I]  param W, V: [H, I]  a = W @ x  b = W @ x  c = V @ x  output y = a + b + c }`);
    expect(ir.nodes.filter((n) => n.op === Op.MatMul)).toHaveLength(3);
    const out = commonSubexpressions(ir);
    expect(out.nodes.filter((n) => n.op === Op.MatMul)).toHaveLength(2);
    expectSameMeaning(ir, out);
  });

  it("keeps slices with different bounds apart", () => {
    const ir = cellFrom(`cell D<H> { input x: [2*H]  output y = x[0:H] + x[H:2*H] }`);
    expect(commonSubexpressions(ir).nodes.filter((n) => n.op === Op.Slice)).toHaveLength(2);
  });

  it.each(cells)("keeps the meaning of %s", (_, make) => {
    const ir = make();
    expectSameMeaning(ir, commonSubexpressions(ir));
  });
});
