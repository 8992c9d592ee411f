// Attention (issue 25): a cell reads a sequence whole (`input enc: [S, H]`); Bahdanau and Luong attention written as
// equations equal PyTorch's (test/fixtures/attention/make_attention.py) on the reference interpreter, padding excluded.
import { reversals, translateSource } from "../fixtures/attention/decoder.js";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { batchOf, type Example } from "../../src/api/data.js";
import { initParams, modelParamSpecs } from "../../src/weights/weights.js";
import { modelFromSource } from "../../src/api/model.js";
import { runModel } from "../../src/interp/run-model.js";
import { compileModule } from "../../src/emit/compile.js";
import { useBackend } from "../../src/tfjs/backend.js";
import { runModelTf } from "../../src/tfjs/run.js";
import type { Tensor } from "../../src/runtime/tensor.js";
import { closeness, crossEntropyAt, gradientVersusCentralDifferences, root } from "../helpers.js";

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
  const m = modelFromSource(source, { model: "Attend" });
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

  it("the stdlib's BahdanauAttention and LuongAttention give PyTorch's contexts", () => {
    const std = modelFromSource(`import { BahdanauAttention, LuongAttention } from "std"
model Std<H = 4, A = 3> {
  input q: [T, H]
  input enc: [S, H]
  layer ba = BahdanauAttention<H, H, A>
  layer lu = LuongAttention<H, H>
  output bahdanau = map(ba, q, enc)
  output luong = map(lu, q, enc)
}
`);
    const p = new Map([["ba.W_k", params.get("ba.W1")!], ["ba.W_q", params.get("ba.W2")!], ["ba.v", params.get("ba.v")!], ["lu.W", params.get("lu.W")!]]);
    const o = runModel(std.ir, std.env, p, { inputs: { q: tensor(fixture.q, [B, T, H]), enc: tensor(fixture.enc, [B, S, H]) }, lengths: { q: fixture.q_lengths, enc: fixture.enc_lengths } }, "f64");
    for (const form of ["bahdanau", "luong"] as const) expect(closeness(o[form]!.tensor!.data, real(fixture[form].context, H), 1e-12, 1e-12), form).toBeLessThanOrEqual(1);
  });

  it("TensorFlow.js computes what the interpreter does (masks for the padded source positions)", async () => {
    await useBackend("tfjs-cpu");
    const p32 = new Map([...params].map(([k, t]) => [k, { shape: t.shape, data: Float32Array.from(t.data) }]));
    const input = { inputs: { q: tensor(fixture.q, [B, T, H]), enc: tensor(fixture.enc, [B, S, H]) }, lengths: { q: fixture.q_lengths, enc: fixture.enc_lengths } };
    const got = runModelTf(m.ir, m.env, p32, input);
    for (const name of Object.keys(out)) expect(closeness(got[name]!.tensor!.data, out[name]!.tensor!.data, 1e-5, 1e-6), name).toBeLessThanOrEqual(1);
  });
});

describe("attention in an encoder–decoder", () => {
  const m = modelFromSource(translateSource);
  const examples: Example[] = reversals();
  const batch = batchOf(m.ir, examples);

  it("TensorFlow.js trains it: its gradient equals central differences of the float64 interpreter's cross-entropy", async () => {
    await useBackend("tfjs-cpu");
    const params = initParams(modelParamSpecs(m.ir, m.env), 3, "f64");
    const r = gradientVersusCentralDifferences(m.ir, m.env, params, { output: "scores", loss: "crossentropy" }, batch, crossEntropyAt(m.ir, m.env, batch, examples.map((e) => e.target as number[]), "scores"), 2, 4, "tfjs");
    expect(r.worst).toBeUndefined();
    expect(r.checked).toBe(2 * params.size);
  });

  it("generates on TensorFlow.js as on the interpreter, greedy and with beam search (each hypothesis reading its example's sequence)", async () => {
    await useBackend("tfjs-cpu");
    const params = initParams(modelParamSpecs(m.ir, m.env), 9);
    const a = runModel(m.ir, m.env, params, batch), b = runModelTf(m.ir, m.env, params, batch);
    for (const name of ["tokens", "searched"]) {
      expect(b[name]!.lengths, name).toEqual(a[name]!.lengths);
      expect(Array.from(b[name]!.tensor!.data), name).toEqual(Array.from(a[name]!.tensor!.data));
    }
    expect(Array.from(a["searched"]!.tensor!.data)).not.toEqual(Array.from(a["tokens"]!.tensor!.data)); // the search found other sequences
  });

  it("compiles to both targets: the modules' outputs equal the interpreter's (the js target steps the decoder on its interpreter)", async () => {
    const tf = await import("@tensorflow/tfjs");
    await useBackend("tfjs-cpu");
    const params = initParams(modelParamSpecs(m.ir, m.env), 9);
    const c = await compileModule({ ir: m.ir, env: m.env, target: "tfjs", weights: params, weightsGiven: true, source: "t.rnn", version: "test" });
    const dir = join(root, ".test-out", "attention");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "translate.tfjs.js"), c.js);
    const model = (await import(pathToFileURL(join(dir, "translate.tfjs.js")).href)).createModel();
    const want = runModel(m.ir, m.env, params, batch);
    const got = model.predict({ src: tf.tensor(batch.inputs["src"]!.data as Float32Array, batch.inputs["src"]!.shape as number[], "int32"), prev: tf.tensor(batch.inputs["prev"]!.data as Float32Array, batch.inputs["prev"]!.shape as number[], "int32") }, { lengths: batch.lengths });
    expect(closeness(await got.scores.data(), want["scores"]!.tensor!.data, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    expect(Array.from(await got.tokens.data())).toEqual(Array.from(want["tokens"]!.tensor!.data));
    model.dispose();
    // The js target: the decoder (it reads a sequence whole) steps on the module's interpreter, the rest is generated code.
    const j = await compileModule({ ir: m.ir, env: m.env, target: "js", weights: params, weightsGiven: true, source: "t.rnn", version: "test" });
    expect(j.js).toContain("function __rnnc_cell_1("); // the encoder's generated cell
    expect(j.js).not.toContain("__rnnc_cell_2"); // none for the decoder
    writeFileSync(join(dir, "translate.js.js"), j.js);
    const jm = (await import(pathToFileURL(join(dir, "translate.js.js")).href)).createModel();
    for (const rows of [1, examples.length]) {
      const part = batchOf(m.ir, examples.slice(0, rows));
      const w = runModel(m.ir, m.env, params, part);
      const r = jm.run({ src: part.inputs["src"], prev: part.inputs["prev"] }, { lengths: part.lengths });
      expect(closeness(r.outputs.scores.data, w["scores"]!.tensor!.data, 1e-5, 1e-6), `${rows} rows`).toBeLessThanOrEqual(1);
      for (const name of ["tokens", "searched"]) expect(Array.from(r.outputs[name].data), `${name}, ${rows} rows`).toEqual(Array.from(w[name]!.tensor!.data));
    }
  });
});

