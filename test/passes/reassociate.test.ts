// reassociate: in a sum, the terms that depend on no state come first, so that they can be computed before the loop.
import { describe, expect, it } from "vitest";
import { stageOf } from "../../src/ir/graph.js";
import { Op } from "../../src/ir/ops.js";
import { reassociateSums } from "../../src/passes/reassociate.js";
import { cellFrom } from "../helpers.js";
import { cells, expectSameMeaning } from "./common.js";

describe("reassociate", () => {
  it("turns (U h[t-1] + W x) + b into (W x + b) + U h[t-1]", () => {
    const ir = cellFrom(`cell E<I, H> { input x: [I]  state h: [H] = 0  param W: [H, I]  param U: [H, H]  param b: [H]
      h = tanh(U @ h[t-1] + W @ x + b)  output h }`);
    const before = stageOf(ir);
    const outerBefore = ir.nodes.filter((n) => n.op === Op.Add).at(-1)!;
    expect(outerBefore.args.map((a) => before[a])).toEqual([2, 0]); // (state part + input part) + bias
    const out = reassociateSums(ir);
    const stage = stageOf(out);
    const outer = out.nodes.filter((n) => n.op === Op.Add).at(-1)!;
    expect(outer.args.map((a) => stage[a]).sort()).toEqual([1, 2]); // (input part + bias) + state part
    expectSameMeaning(ir, out);
  });

  it.each(cells)("keeps the meaning of %s", (_, make) => {
    const ir = make();
    expectSameMeaning(ir, reassociateSums(ir));
  });
});
