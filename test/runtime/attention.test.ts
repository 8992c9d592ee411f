// Attention (issue 25): a cell reads a sequence whole (`input enc: [S, H]`); Bahdanau and Luong attention written as
// equations equal PyTorch's (test/fixtures/attention/make_attention.py) on the reference interpreter, padding excluded.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { modelFromSource } from "../../src/api/model.js";
import { runModel } from "../../src/interp/run-model.js";
import type { Tensor } from "../../src/runtime/tensor.js";
import { closeness, root } from "../helpers.js";

const fixture = JSON.parse(readFileSync(join(root, "test", "fixtures", "attention", "attention.json"), "utf8")) as {
  B: number; T: number; S: number; H: number; A: number; enc_lengths: number[]; q_lengths: number[];
  enc: number[][][]; q: number[][][]; W1: number[][]; W2: number[][]; v: number[]; W: number[][];
  bahdanau: { weights: number[][][]; context: number[][][] }; luong: { weights: number[][][]; context: number[][][] };
};

/** Each form of attention twice: the context as the layer's output, and the weights (for plots). */
const source = `
/// Bahdanau (additive) attention of a query over a whole sequence: v · tanh(W1 enc_s + W2 q).
cell Bahdanau<H, A> {
  input q: [H]
  input enc: [S, H]
  param W1, W2: [A, H] ~ glorot_uniform
  param v: [A] ~ zeros
  weights = softmax(tanh(enc @ transpose(W1) + W2 @ q) @ v)   // [S], padded positions excluded
  output context = transpose(enc) @ weights
}
cell BahdanauWeights<H, A> {
  input q: [H]
  input enc: [S, H]
  param W1, W2: [A, H] ~ glorot_uniform
  param v: [A] ~ zeros
  output weights = softmax(tanh(enc @ transpose(W1) + W2 @ q) @ v)
}
/// Luong (general) attention: enc_s · (W q).
cell Luong<H> {
  input q: [H]
  input enc: [S, H]
  param W: [H, H] ~ glorot_uniform
  output context = transpose(enc) @ softmax(enc @ (W @ q))
}
cell LuongWeights<H> {
  input q: [H]
  input enc: [S, H]
  param W: [H, H] ~ glorot_uniform
  output weights = softmax(enc @ (W @ q))
}
model Attend<H = 4, A = 3> {
  input q: [T, H]
  input enc: [S, H]
  layer ba = Bahdanau<H, A>
  layer baw = BahdanauWeights<H, A>
  layer lu = Luong<H>
  layer luw = LuongWeights<H>
  output bahdanau_context = map(ba, q, enc)
  output bahdanau_weights = map(baw, q, enc)
  output luong_context = map(lu, q, enc)
  output luong_weights = map(luw, q, enc)
}
`;

const tensor = (a: unknown, shape: number[]): Tensor => ({ shape, data: Float64Array.from((a as number[]).flat(3) as number[]) });

describe("attention on the reference interpreter", () => {
  const m = modelFromSource(source, "Attend");
  const { B, T, S, H, A } = fixture;
  const params = new Map<string, Tensor>();
  for (const l of ["ba", "baw"]) {
    params.set(`${l}.W1`, tensor(fixture.W1, [A, H]));
    params.set(`${l}.W2`, tensor(fixture.W2, [A, H]));
    params.set(`${l}.v`, tensor(fixture.v, [A]));
  }
  for (const l of ["lu", "luw"]) params.set(`${l}.W`, tensor(fixture.W, [H, H]));
  const out = runModel(m.ir, m.env, params, {
    inputs: { q: tensor(fixture.q, [B, T, H]), enc: tensor(fixture.enc, [B, S, H]) },
    lengths: { q: fixture.q_lengths, enc: fixture.enc_lengths },
  }, "f64");

  /** PyTorch's values at the real steps of each example (rnnc's are zero past each length, as PyTorch's padded queries are not). */
  const real = (a: number[][][], width: number): number[] => a.flatMap((steps, b) => steps.flatMap((row, t) => (t < fixture.q_lengths[b]! ? row.slice(0, width) : Array(width).fill(0))));

  it.each(["bahdanau", "luong"] as const)("%s: the weights and the context equal PyTorch's within 1e-12, padded source positions weighted 0", (form) => {
    const weights = out[`${form}_weights`]!.tensor!, context = out[`${form}_context`]!.tensor!;
    expect(weights.shape).toEqual([B, T, S]);
    expect(context.shape).toEqual([B, T, H]);
    expect(closeness(weights.data, real(fixture[form].weights, S), 1e-12, 1e-12)).toBeLessThanOrEqual(1);
    expect(closeness(context.data, real(fixture[form].context, H), 1e-12, 1e-12)).toBeLessThanOrEqual(1);
    // Each real step's weights sum to 1 over the example's own source positions.
    for (let b = 0; b < B; b++) for (let t = 0; t < fixture.q_lengths[b]!; t++) {
      const row = Array.from(weights.data.subarray((b * T + t) * S, (b * T + t + 1) * S));
      expect(row.slice(fixture.enc_lengths[b]!).every((w) => w === 0)).toBe(true);
      expect(row.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 12);
    }
  });
});
