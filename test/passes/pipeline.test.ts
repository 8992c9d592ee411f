// The pass pipeline: after every pass the IR verifies and every sample cell computes what it did; each pass alone keeps the meaning.
import { describe, expect, it } from "vitest";
import { Op } from "../../src/ir/ops.js";
import { shapeToString } from "../../src/ir/dims.js";
import { verifyCellIR } from "../../src/ir/verify.js";
import { optimize, passes } from "../../src/passes/pipeline.js";
import { closeness, stdlibCell } from "../helpers.js";
import { cells, run } from "./common.js";

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

describe("the whole pipeline on an LSTM", () => {
  it("leaves two products, [4*H] each: one on x (hoistable), one on h[t-1]", () => {
    const opt = optimize(stdlibCell("lstm.rnn", "LSTM"));
    expect(opt.nodes.filter((n) => n.op === Op.MatMul).map((m) => shapeToString(m.shape))).toEqual(["[4*H]", "[4*H]"]);
  });
});
