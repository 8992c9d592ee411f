// Attention on the fused kernels (issue 25): cells reading a sequence whole run and train fused, equal to the interpreter.
import { describe, expect, it } from "vitest";
import { batchOf, type Example } from "../../src/api/data.js";
import { modelFromSource } from "../../src/api/model.js";
import { BatchedModelRunner } from "../../src/fused/run-model.js";
import { runModel } from "../../src/interp/run-model.js";
import { mulberry32 } from "../../src/runtime/random.js";
import type { Tensor } from "../../src/runtime/tensor.js";
import { initParams, modelParamSpecs } from "../../src/weights/weights.js";
import { attentionDecoder } from "../fixtures/attention/decoder.js";
import { closeness, gradientVersusCentralDifferences } from "../helpers.js";

const seq2seq = `${attentionDecoder}model Translate<V = 7, E = 4, H = 5, A = 3> {
  input src: [S] int
  input prev: [T] int
  layer embed   = Embedding<V, E>
  layer encoder = LSTM<E, H>
  layer decoder = Decoder<V, E, H, A>
  enc = scan(encoder, map(embed, src))
  output scores = scan(decoder, prev, enc, init = final(enc))
}
`;

describe("attention on the fused kernels", () => {
  const m = modelFromSource(seq2seq);
  const rng = mulberry32(5);
  const examples: Example[] = Array.from({ length: 6 }, () => {
    const src = Array.from({ length: 2 + Math.floor(rng() * 5) }, () => 2 + Math.floor(rng() * 5));
    const tgt = [...src].reverse();
    return { inputs: { src, prev: [0, ...tgt.slice(0, -1)] }, target: tgt };
  });
  const batch = batchOf(m.ir, examples);

  it("runs an encoder–decoder with attention as the interpreter does", () => {
    const params = initParams(modelParamSpecs(m.ir, m.env), 9);
    const want = runModel(m.ir, m.env, params, batch)["scores"]!;
    const got = new BatchedModelRunner(m.ir, m.env, params).run(batch)["scores"]!;
    expect(got.tensor!.shape).toEqual(want.tensor!.shape);
    expect(closeness(got.tensor!.data, want.tensor!.data, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
  });

  it("trains it: the gradient equals central differences of the float64 interpreter's cross-entropy", () => {
    const params = initParams(modelParamSpecs(m.ir, m.env), 3, "f64");
    const lossAt = (p: Map<string, Tensor>): number => {
      const out = runModel(m.ir, m.env, p, batch, "f64")["scores"]!.tensor!;
      const [, T, V] = out.shape as [number, number, number];
      let sum = 0, n = 0;
      examples.forEach((e, b) => (e.target as number[]).forEach((y, t) => {
        const row = Array.from(out.data.subarray((b * T + t) * V, (b * T + t + 1) * V));
        const max = Math.max(...row);
        sum += Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0)) + max - row[y]!;
        n++;
      }));
      return sum / n;
    };
    const r = gradientVersusCentralDifferences(m.ir, m.env, params, { output: "scores", loss: "crossentropy" }, batch, lossAt, 2, 4, "fused");
    expect(r.worst).toBeUndefined();
    expect(r.checked).toBe(2 * params.size);
  });
});
