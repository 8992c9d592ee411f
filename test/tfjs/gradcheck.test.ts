// Gradient checks: tfjs gradients (float32) against central finite differences of the float64 interpreter, per cell and topology.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { runModel, type ModelRunInput } from "../../src/interp/run-model.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { alloc, type Tensor } from "../../src/runtime/tensor.js";
import type { ModelIR } from "../../src/ir/ir.js";
import { useBackend } from "../../src/tfjs/backend.js";
import { TfModel } from "../../src/tfjs/model.js";
import { toTf, variablesOf } from "../../src/tfjs/run.js";
import { initParams, modelParamSpecs } from "../../src/weights/weights.js";
import { modelFrom } from "../helpers.js";

beforeAll(async () => { await useBackend("tfjs-cpu"); });

const B = 2, T = 4, I = 3, H = 4;
const rand = (shape: number[], seed: number, scale = 1): Tensor => {
  const r = mulberry32(seed);
  const t = alloc(shape, "f64");
  for (let i = 0; i < t.data.length; i++) t.data[i] = scale * (2 * r() - 1);
  return t;
};

/** L = Σ (every output, padded steps zero) ⊙ fixed random weights. */
function lossInterp(ir: ModelIR, env: Map<string, number>, params: Map<string, Tensor>, input: ModelRunInput, weights: Map<string, Tensor>): number {
  const out = runModel(ir, env, params, input, "f64");
  let L = 0;
  for (const [k, o] of Object.entries(out)) {
    const w = weights.get(k)!;
    o.tensor!.data.forEach((v, i) => { L += v * w.data[i]!; });
  }
  return L;
}

function check(text: string, inputs: Record<string, Tensor>, lengths?: Record<string, number[]>) {
  const ir = modelFrom(text);
  const env = new Map([["I", I], ["H", H]]);
  const params = initParams(modelParamSpecs(ir, env), 5, "f64");
  let k = 0;
  for (const [name, t] of params) params.set(name, rand([...t.shape], 100 + ++k, 0.6));
  const input: ModelRunInput = { inputs, ...(lengths ? { lengths } : {}) };
  const shapes = runModel(ir, env, params, input, "f64");
  const weights = new Map(Object.entries(shapes).map(([name, o], i) => [name, rand([...o.tensor!.shape], 900 + i)]));

  const vars = variablesOf(params);
  const grads = tf.tidy(() => {
    const model = new TfModel(ir, env, vars);
    const { grads } = tf.variableGrads(() => {
      const v = model.run({ inputs: Object.fromEntries(ir.inputs.map((i) => [i.name, toTf(inputs[i.name]!, i.dtype === "int" ? "int32" : "float32")])), ...(lengths ? { lengths } : {}) });
      const terms = ir.outputs.map((o) => {
        const val = v[o.node]!;
        const w = toTf(weights.get(o.name)!);
        if (val.kind === "seq") {
          const mask = tf.tensor(val.lengths.flatMap((l) => Array.from({ length: val.steps.length }, (_, t) => (t < l ? 1 : 0))), [val.lengths.length, val.steps.length]);
          const y = tf.stack(val.steps as tf.Tensor[], 1);
          return tf.sum(tf.mul(tf.mul(y, tf.reshape(mask, [...mask.shape, ...Array(y.rank - 2).fill(1)])), w));
        }
        return tf.sum(tf.mul((val as { t: tf.Tensor }).t, w));
      });
      return tf.addN(terms) as tf.Scalar;
    }, [...vars.values()]);
    return Object.fromEntries([...vars].map(([name, v]) => [name, grads[v.name]!]));
  }) as Record<string, tf.Tensor>;

  const eps = 1e-5;
  const rng = mulberry32(7);
  let checked = 0;
  for (const [name, t] of params) {
    const g = grads[name]!.dataSync();
    for (let s = 0; s < 3; s++) {
      const i = Math.floor(rng() * t.data.length);
      const orig = t.data[i]!;
      t.data[i] = orig + eps;
      const up = lossInterp(ir, env, params, input, weights);
      t.data[i] = orig - eps;
      const down = lossInterp(ir, env, params, input, weights);
      t.data[i] = orig;
      const fd = (up - down) / (2 * eps);
      const rel = Math.abs(g[i]! - fd) / Math.max(Math.abs(g[i]!), Math.abs(fd), 1e-2);
      expect(rel, `${name}[${i}]: tfjs ${g[i]} vs finite difference ${fd}`).toBeLessThan(1e-3);
      checked++;
    }
  }
  tf.dispose(Object.values(grads));
  for (const v of vars.values()) v.dispose();
  expect(checked).toBeGreaterThan(5);
}

const x = rand([B, T, I], 1);
const cells = ["Elman", "LSTM", "PeepholeLSTM", "GRU", "GRUResetBefore"];

describe("gradients: tfjs vs finite differences of the float64 interpreter", () => {
  it.each(cells)("stdlib %s over a sequence", (cell) => {
    check(`import { ${cell} } from "std"
      model M<I, H> { input x: [T, I]  layer c = ${cell}<I, H>  output y = scan(c, x) }`, { x });
  });

  it.each(["Elman", "LSTM"])("Elman with relu and %s: stacked, reversed, variable lengths, last and final", (cell) => {
    check(`import { ${cell}, Elman, Dense } from "std"
      model M<I, H> {
        input x: [T, I]
        layer a = ${cell}<I, H>
        layer b = Elman<H, H>(act = relu)
        layer d = Dense<H, 2>(act = softmax)
        s = scan(b, scan(a, x, reverse = true))
        output y = d(last(s))
        output h = final(s).h
      }`, { x }, { x: [4, 2] });
  });

  it("bidirectional GRU (ave) with map", () => {
    check(`import { GRU, Dense } from "std"
      model M<I, H> { input x: [T, I]  layer f = GRU<I, H>  layer b = GRU<I, H>  layer d = Dense<H, 1>  output y = map(d, bidirectional(f, b, x, merge = ave)) }`, { x }, { x: [3, 4] });
  });

  it("encoder–decoder with embeddings and teacher forcing", () => {
    const src = alloc([B, 3], "f64");
    src.data.set([1, 2, 3, 3, 0, 0]);
    const tgt = alloc([B, 2], "f64");
    tgt.data.set([0, 4, 0, 2]);
    check(`import { Embedding, LSTM, Dense } from "std"
      cell Dec<V, E, H> { input tok: [] int  layer e = Embedding<V, E>  layer r = LSTM<E, H>  layer o = Dense<H, V>  output logits = o(r(e(tok))) }
      model M<I, H> {
        input src: [S] int
        input tgt: [U] int
        layer emb = Embedding<5, I>
        layer enc = LSTM<I, H>
        layer dec = Dec<5, I, H>
        output logits = scan(dec, tgt, init = final(scan(enc, map(emb, src))))
      }`, { src, tgt }, { src: [3, 1] });
  });

  it("generate with its output fed back, and h[t-2]", () => {
    check(`import { Dense } from "std"
      cell Osc<H> { input x: [H]  state h: [H] = 0  param A, C: [H, H]  h = tanh(A @ h[t-1] + C @ h[t-2] + x)  output y = h }
      model M<I, H> { input start: [H]  layer o = Osc<H>  output ys = generate(o, start = start, steps = 4) }`, { start: rand([B, H], 3) });
  });
});
