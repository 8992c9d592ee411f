// stack-adds: the stacked input part and biases are added to the stacked recurrent product once, then the gates sliced.
import { describe, expect, it } from "vitest";
import { shapeToString } from "../../src/ir/dims.js";
import { Op } from "../../src/ir/ops.js";
import { optimize } from "../../src/passes/pipeline.js";
import { stackAdds } from "../../src/passes/stack-adds.js";
import { stdlibCell } from "../helpers.js";
import { cells, expectSameMeaning } from "./common.js";

describe("stack-adds", () => {
  it("adds an LSTM's stacked input projection with its biases to the recurrent product once, then slices the gates", () => {
    const opt = optimize(stdlibCell("lstm.rnn", "LSTM"));
    const stateFree = new Set<number>();
    for (const n of opt.nodes) if (n.op !== Op.StateRead && n.args.every((a) => stateFree.has(a))) stateFree.add(n.id);
    // One pre-activation for all gates: (state-free part, computed before the loop) + (recurrent part).
    const preActs = opt.nodes.filter((n) => n.op === Op.Add && n.args.some((a) => stateFree.has(a)) && n.args.some((a) => !stateFree.has(a)));
    expect(preActs.map((p) => shapeToString(p.shape))).toEqual(["[4*H]"]);
    const [free] = preActs[0]!.args.map((a) => opt.nodes[a]!);
    expect(free!.op).toBe(Op.Add); // x @ W + (b_i ⧺ b_f ⧺ b_g ⧺ b_o)
    expect(opt.nodes.filter((n) => n.op === Op.Slice && n.args[0] === preActs[0]!.id)).toHaveLength(4);
    expect(opt.nodes.filter((n) => n.op === Op.Concat && !n.batched).map((n) => shapeToString(n.shape)).sort()).toEqual(["[4*H, H]", "[4*H, I]", "[4*H]"]);
  });

  it("changes nothing where no products were stacked", () => {
    const ir = stdlibCell("elman.rnn", "Elman");
    expect(stackAdds(ir).nodes.filter((n) => n.op === Op.Slice)).toHaveLength(0);
  });

  it.each(cells)("keeps the meaning of %s", (_, make) => {
    const ir = make();
    expectSameMeaning(ir, stackAdds(ir));
  });
});
