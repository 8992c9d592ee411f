// Attention on the fused kernels (issue 25): cells reading a sequence whole run and train fused, equal to the interpreter.
import { describe, expect, it } from "vitest";
import { batchOf, type Example } from "../../src/api/data.js";
import { modelFromSource } from "../../src/api/model.js";
import { BatchedModelRunner } from "../../src/fused/run-model.js";
import { runModel } from "../../src/interp/run-model.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { initParams, modelParamSpecs } from "../../src/weights/weights.js";
import { reversals, translateSource } from "../fixtures/attention/decoder.js";
import { closeness, crossEntropyAt, gradientVersusCentralDifferences } from "../helpers.js";


/**
 * Every masked reduction over a sequence read whole (softmax, log_softmax, sum, mean), a decoder whose state reads
 * the context it attended to (input feeding: the attention inside the recurrence), and the attention weights as an output.
 */
const reductions = `import { Embedding, BahdanauAttention } from "std"
cell Pool<H, V> {
  input q: [H]
  input enc: [S, H]
  param W: [H, H] ~ glorot_uniform
  param W_o: [V, H] ~ glorot_uniform
  scores = enc @ (W @ q)
  pooled = transpose(enc) @ softmax(scores) + transpose(enc) @ exp(log_softmax(0.5 * scores)) + sum(scores) + mean(tanh(scores))
  output y = W_o @ pooled
}
cell Weights<H> {
  input q: [H]
  input enc: [S, H]
  param W: [H, H] ~ glorot_uniform
  output w = softmax(enc @ (W @ q))
}
cell FeedDecoder<V, E, H, A> {
  input token: [] int
  input enc: [L, H]
  layer embed  = Embedding<V, E>
  layer attend = BahdanauAttention<H, H, A>
  state h: [H] = 0
  param W_x: [H, E] ~ glorot_uniform
  param W_c: [H, H] ~ glorot_uniform
  param W_h: [H, H] ~ orthogonal
  param b: [H] ~ zeros
  param W_o: [V, H] ~ glorot_uniform
  h = tanh(W_x @ embed(token) + W_c @ attend(h[t-1], enc) + W_h @ h[t-1] + b)
  output scores = W_o @ h
}
model Reduce<V = 5, E = 3, H = 4, A = 3> {
  input src: [S, H]
  input prev: [T] int
  layer pool = Pool<H, V>
  layer weights = Weights<H>
  layer feed = FeedDecoder<V, E, H, A>
  layer embed = Embedding<V, H>
  q = map(embed, prev)
  output pooled = map(pool, q, src)
  output w = map(weights, q, src)
  output fed = scan(feed, prev, src)
}
`;

describe("attention on the fused kernels: masked reductions, input feeding, weights as an output", () => {
  const m = modelFromSource(reductions);
  const rng = mulberry32(11);
  const examples: Example[] = Array.from({ length: 7 }, () => {
    const S = 1 + Math.floor(rng() * 5), T = 1 + Math.floor(rng() * 4);
    return { inputs: { src: Array.from({ length: S }, () => Array.from({ length: 4 }, () => rng() * 2 - 1)), prev: Array.from({ length: T }, () => Math.floor(rng() * 5)) },
      target: Array.from({ length: T }, () => Math.floor(rng() * 5)) };
  });
  const batch = batchOf(m.ir, examples);

  it("computes every output as the interpreter does, padded source positions left out", () => {
    const params = initParams(modelParamSpecs(m.ir, m.env), 2);
    const want = runModel(m.ir, m.env, params, batch);
    const got = new BatchedModelRunner(m.ir, m.env, params).run(batch);
    for (const name of ["pooled", "w", "fed"]) {
      expect(got[name]!.tensor!.shape, name).toEqual(want[name]!.tensor!.shape);
      expect(closeness(got[name]!.tensor!.data, want[name]!.tensor!.data, 1e-5, 1e-6), name).toBeLessThanOrEqual(1);
    }
  });

  it.each(["pooled", "fed"])("trains %s: the gradient equals central differences of the float64 interpreter's", (output) => {
    const params = initParams(modelParamSpecs(m.ir, m.env), 4, "f64");
    const r = gradientVersusCentralDifferences(m.ir, m.env, params, { output, loss: "crossentropy" }, batch, crossEntropyAt(m.ir, m.env, batch, examples.map((e) => e.target as number[]), output), 3, 6, "fused");
    expect(r.worst).toBeUndefined();
    expect(r.checked).toBeGreaterThan(0);
  });
});

describe("attention on the fused kernels", () => {
  const m = modelFromSource(translateSource);
  const examples: Example[] = reversals();
  const batch = batchOf(m.ir, examples);

  it("runs an encoder–decoder with attention as the interpreter does", () => {
    const params = initParams(modelParamSpecs(m.ir, m.env), 9);
    const want = runModel(m.ir, m.env, params, batch)["scores"]!;
    const got = new BatchedModelRunner(m.ir, m.env, params).run(batch, ["scores"])["scores"]!;
    expect(got.tensor!.shape).toEqual(want.tensor!.shape);
    expect(closeness(got.tensor!.data, want.tensor!.data, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
  });

  it("trains it: the gradient equals central differences of the float64 interpreter's cross-entropy", () => {
    const params = initParams(modelParamSpecs(m.ir, m.env), 3, "f64");
    const r = gradientVersusCentralDifferences(m.ir, m.env, params, { output: "scores", loss: "crossentropy" }, batch, crossEntropyAt(m.ir, m.env, batch, examples.map((e) => e.target as number[]), "scores"), 2, 4, "fused");
    expect(r.worst).toBeUndefined();
    expect(r.checked).toBe(2 * params.size);
  });
});
