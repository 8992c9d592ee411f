// dce: nodes that no output, state update or initial value needs are dropped.
import { describe, expect, it } from "vitest";
import { Op } from "../../src/ir/ops.js";
import { deadCodeElimination } from "../../src/passes/dce.js";
import { cellFrom } from "../helpers.js";
import { cells, expectSameMeaning } from "./common.js";

describe("dce", () => {
  it("drops an unused value and keeps what outputs and states need", () => {
    const ir = cellFrom(`cell D<I, H> { input x: [I]  state h: [H] = 0  param W: [H, I]  unused = exp(W @ x)  h = tanh(W @ x) + h[t-1]  output y = sigmoid(h) }`);
    const out = deadCodeElimination(ir);
    expect(ir.nodes.some((n) => n.op === Op.Exp)).toBe(true);
    expect(out.nodes.some((n) => n.op === Op.Exp)).toBe(false);
    expect(out.nodes.some((n) => n.op === Op.Tanh) && out.nodes.some((n) => n.op === Op.Sigmoid)).toBe(true);
    expectSameMeaning(ir, out);
  });

  it.each(cells)("keeps the meaning of %s", (_, make) => {
    const ir = make();
    expectSameMeaning(ir, deadCodeElimination(ir));
  });
});
