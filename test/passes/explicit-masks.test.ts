// explicit-masks: a reduction over a sequence read whole multiplies by that sequence's mask, an input; nothing else changes.
import { describe, expect, it } from "vitest";
import { dimAsName } from "../../src/ir/dims.js";
import { Op } from "../../src/ir/ops.js";
import { verifyCellIR } from "../../src/ir/verify.js";
import { explicitMasks } from "../../src/passes/explicit-masks.js";
import { maskInputName } from "../../src/ir/whole-inputs.js";
import { cellFrom, stdlibCell } from "../helpers.js";

const pool = () => cellFrom(`cell Pool<H> {
  input q: [H]
  input enc: [S, H]
  param W: [H, H]
  scores = enc @ (W @ q)
  output y = transpose(enc) @ softmax(scores) + transpose(enc) @ log_softmax(scores) + sum(scores) + mean(scores) + sum(q)
}`);

describe("explicit-masks", () => {
  it("rewrites softmax, log_softmax, sum and mean over the sequence's positions to read its mask, and leaves the sum over H", () => {
    const before = pool();
    const after = explicitMasks(before);
    expect(verifyCellIR(after)).toEqual([]);
    const mask = after.inputs.at(-1)!;
    expect(after.inputs).toHaveLength(before.inputs.length + 1);
    expect(mask).toMatchObject({ name: maskInputName("S"), memory: "S", dtype: "float" });
    const maskNodes = after.nodes.filter((n) => n.op === Op.Input && n.attrs.name === mask.name);
    expect(maskNodes).toHaveLength(1);
    // Every reduction over S reads a value that went through a product with the mask.
    const throughMask = (id: number, depth = 0): boolean => {
      const n = after.nodes[id]!;
      if (n.op === Op.Mul && n.args.includes(maskNodes[0]!.id)) return true;
      return depth < 2 && n.op === Op.Add && n.args.some((a) => throughMask(a, depth + 1));
    };
    const overS = after.nodes.filter((n) => [Op.Softmax, Op.LogSoftmax, Op.Sum, Op.Mean].includes(n.op) && dimAsName(after.nodes[n.args[0]!]!.shape.at(-1)!) === "S");
    expect(overS.filter((n) => n.args[0] !== maskNodes[0]!.id).map((n) => throughMask(n.args[0]!))).toEqual([true, true, true, true]);
    expect(overS.some((n) => n.op === Op.Mean)).toBe(false); // mean is a sum over the mask's sum
    expect(after.nodes.filter((n) => n.op === Op.Sum && dimAsName(after.nodes[n.args[0]!]!.shape.at(-1)!) === "H")).toHaveLength(1);
  });

  it("is idempotent, and leaves a cell without a sequence read whole as it is", () => {
    const once = explicitMasks(pool());
    expect(explicitMasks(once)).toBe(once);
    const lstm = stdlibCell("lstm.rnn", "LSTM");
    expect(explicitMasks(lstm)).toBe(lstm);
    const noReduction = cellFrom(`cell C<H> { input q: [H]  input enc: [S, H]  output y = transpose(enc) @ (enc @ q) }`);
    expect(explicitMasks(noReduction)).toBe(noReduction);
  });
});
