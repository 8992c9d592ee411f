// Traces: every named value of every layer at every step, recorded from the interpreter's own run (so equal to its outputs), in time order, per example.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runModel } from "../../src/interp/run-model.js";
import { runCell } from "../../src/interp/run-cell.js";
import { traceableValues, traceCell, traceModel } from "../../src/interp/trace.js";
import { resolveDims } from "../../src/runtime/dims.js";
import { initParams, cellParamSpecs, modelParamSpecs } from "../../src/weights/weights.js";
import { compiler, modelFrom, randomTensor, root, stdlibCell } from "../helpers.js";

describe("traceModel", () => {
  it("a reverse scan over padded rows: each step's traced h is the output at that step (time order), and the outputs are runModel's", () => {
    const ir = modelFrom(`import { LSTM } from "std"
      model M<H = 5> { input x: [T, 3]  layer rnn = LSTM<3, H>  output y = scan(rnn, x, reverse = true) }`);
    const env = resolveDims(ir, new Map());
    const w = initParams(modelParamSpecs(ir, env), 4);
    const input = { inputs: { x: randomTensor([2, 6, 3], 1) }, lengths: { x: [6, 3] } };
    const { outputs, uses } = traceModel(ir, env, w, input);
    const ref = runModel(ir, env, w, input);
    expect(Array.from(outputs["y"]!.tensor!.data)).toEqual(Array.from(ref["y"]!.tensor!.data));
    expect(uses.map((u) => [u.example, u.layer, u.construct, u.steps.length])).toEqual([[0, "rnn", "reverse scan", 6], [1, "rnn", "reverse scan", 3]]);
    const y = ref["y"]!.tensor!;
    for (const u of uses) {
      const k = u.values.findIndex((v) => v.name === "h");
      expect(u.values[k]!.kind).toBe("state");
      u.steps.forEach((s, t) => expect(Array.from(s[k]!.data)).toEqual(Array.from(y.data.subarray((u.example * 6 + t) * 5, (u.example * 6 + t + 1) * 5))));
      // the gates are recorded too, each in (0, 1)
      const f = u.values.findIndex((v) => v.name === "f");
      expect(u.values[f]!.kind).toBe("gate");
      for (const s of u.steps) for (const v of s[f]!.data) expect(v > 0 && v < 1).toBe(true);
    }
  });

  it("attention's weights over the source, from a layer inlined in the decoder: a distribution over each example's own letters at every step", () => {
    const ir = compiler.model(join(root, "examples", "g2p", "g2p-attention.rnn"), undefined);
    const env = resolveDims(ir, new Map());
    const w = initParams(modelParamSpecs(ir, env), 2);
    const letters = { shape: [2, 5], data: new Float32Array([3, 1, 4, 1, 5, 9, 2, 6, 0, 0]) };
    const prev = { shape: [2, 3], data: new Float32Array([0, 4, 7, 0, 9, 0]) };
    const { outputs, uses } = traceModel(ir, env, w, { inputs: { letters, prev_phones: prev }, lengths: { letters: [5, 3], prev_phones: [3, 2] } }, "f32", (_l, v) => v === "attend.weights" || v === "logits");
    const dec = uses.filter((u) => u.construct === "scan" && u.layer === "decoder");
    expect(dec).toHaveLength(2);
    for (const u of dec) {
      const k = u.values.findIndex((v) => v.name === "attend.weights");
      for (const s of u.steps) {
        const a = Array.from(s[k]!.data);
        expect(a).toHaveLength(u.example === 0 ? 5 : 3);
        expect(a.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 5);
      }
      // the traced logits are the model's output, step by step
      const j = u.values.findIndex((v) => v.name === "logits");
      const out = outputs["logits"]!.tensor!, T = out.shape[1]!, P = out.shape[2]!;
      u.steps.forEach((s, t) => expect(Array.from(s[j]!.data)).toEqual(Array.from(out.data.subarray((u.example * T + t) * P, (u.example * T + t + 1) * P))));
    }
    expect(uses.some((u) => u.construct === "generate")).toBe(true);
  });
});

describe("traceCell", () => {
  it("a cell run alone: its outputs are runCell's, and every named value is recorded (h equals the output at each step)", () => {
    const ir = stdlibCell("gru.rnn", "GRU");
    const env = resolveDims(ir, new Map([["I", 3], ["H", 4]]));
    const w = initParams(cellParamSpecs(ir, env), 7);
    const input = { inputs: { x: randomTensor([2, 4, 3], 3) } };
    const { result, uses } = traceCell(ir, env, w, input);
    expect(Array.from(result.outputs["h"]!.data)).toEqual(Array.from(runCell(ir, env, w, input).outputs["h"]!.data));
    expect(uses[0]!.values.map((v) => v.name)).toEqual(traceableValues(ir).map((x) => x.value.name));
    const k = uses[1]!.values.findIndex((v) => v.name === "h");
    uses[1]!.steps.forEach((s, t) => expect(Array.from(s[k]!.data)).toEqual(Array.from(result.outputs["h"]!.data.subarray((4 + t) * 4, (4 + t + 1) * 4))));
  });
});
