// Gradient checks: tfjs gradients (float32), fused and op by op, against central finite differences of the float64 interpreter.
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
import { resolveDims } from "../../src/runtime/dims.js";
import { exampleModels, modelFrom } from "../helpers.js";

beforeAll(async () => { await useBackend("tfjs-cpu"); });

const B = 2, T = 4, I = 3, H = 4;
const rand = (shape: number[], seed: number, scale = 1): Tensor => {
  const r = mulberry32(seed);
  const t = alloc(shape, "f64");
  for (let i = 0; i < t.data.length; i++) t.data[i] = scale * (2 * r() - 1);
  return t;
};

/** The outputs a loss can be taken of: float values (generated token ids have no gradient). */
const floatOutputs = (ir: ModelIR) => ir.outputs.filter((o) => ir.nodes[o.node]!.dtype === "float");

/** L = Σ (every float output, padded steps zero) ⊙ fixed random weights. */
function lossInterp(ir: ModelIR, env: ReadonlyMap<string, number>, params: Map<string, Tensor>, input: ModelRunInput, weights: Map<string, Tensor>): number {
  const out = runModel(ir, env, params, input, "f64");
  let L = 0;
  for (const [k, o] of Object.entries(out)) {
    const w = weights.get(k);
    if (!w) continue;
    o.tensor!.data.forEach((v, i) => { L += v * w.data[i]!; });
  }
  return L;
}

let fused = true;

function check(text: string | ModelIR, inputs: Record<string, Tensor>, lengths?: Record<string, number[]>, env: ReadonlyMap<string, number> = new Map([["I", I], ["H", H]])) {
  const ir = typeof text === "string" ? modelFrom(text) : text;
  const params = initParams(modelParamSpecs(ir, env), 5, "f64");
  let k = 0;
  for (const [name, t] of params) params.set(name, rand([...t.shape], 100 + ++k, 0.6));
  const input: ModelRunInput = { inputs, ...(lengths ? { lengths } : {}) };
  const shapes = runModel(ir, env, params, input, "f64");
  const weights = new Map(floatOutputs(ir).map((o, i) => [o.name, rand([...shapes[o.name]!.tensor!.shape], 900 + i)]));

  const vars = variablesOf(params);
  const grads = tf.tidy(() => {
    const model = new TfModel(ir, env, vars, { fused });
    const { grads } = tf.variableGrads(() => {
      const v = model.run({ inputs: Object.fromEntries(ir.inputs.map((i) => [i.name, toTf(inputs[i.name]!, i.dtype === "int" ? "int32" : "float32")])), ...(lengths ? { lengths } : {}) });
      // Every scan took the path under test (maps and generate run op by op either way, and so does a scan of a layer
      // that reads a sequence whole: tfjs' lowering runs attention op by op; the fused engine trains it, test/fused/attention.test.ts).
      for (const p of model.paths.values()) if (p.kind === "scan") expect(p.fused, p.why).toBe(fused && !ir.layers.find((l) => l.name === p.layer)!.ir.inputs.some((i) => i.memory !== undefined));
      const terms = floatOutputs(ir).map((o) => {
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

describe.each([["fused", true], ["op by op", false]] as const)("gradients (%s): tfjs vs finite differences of the float64 interpreter", (_, on) => {
  beforeAll(() => { fused = on; });
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
    const src = alloc([B, 4], "f64"); // four steps or more: shorter scans run op by op
    src.data.set([1, 2, 3, 4, 3, 1, 0, 0]);
    const tgt = alloc([B, 4], "f64");
    tgt.data.set([0, 4, 2, 1, 0, 2, 3, 0]);
    check(`import { Embedding, LSTM, Dense } from "std"
      cell Dec<V, E, H> { input tok: [] int  layer e = Embedding<V, E>  layer r = LSTM<E, H>  layer o = Dense<H, V>  output logits = o(r(e(tok))) }
      model M<I, H> {
        input src: [S] int
        input tgt: [U] int
        layer emb = Embedding<5, I>
        layer enc = LSTM<I, H>
        layer dec = Dec<5, I, H>
        output logits = scan(dec, tgt, init = final(scan(enc, map(emb, src))))
      }`, { src, tgt }, { src: [4, 2] });
  });

  it("a scan with h[t-2], reversed, variable lengths", () => {
    check(`cell C<I, H> { input x: [I]  state h: [H] = 0  param W: [H, I]  param U, V: [H, H]  h = tanh(W @ x + U @ h[t-1] + V @ h[t-2])  output h }
      model M<I, H> { input x: [T, I]  layer c = C<I, H>  output y = scan(c, x, reverse = true) }`, { x }, { x: [4, 3] });
  });

  // Every model of the examples, at its own sizes: 2 sequences of 6 and 4 steps.
  for (const [name, ir] of exampleModels(["G2PBiAttention", "G2PBi2Drop", "G2PBi2Wide", "G2PEnsemble"]))
    it(`example ${name}`, () => {
      const env = resolveDims(ir, new Map());
      const rng = mulberry32(11);
      const inputs = Object.fromEntries(ir.inputs.map((i) => {
        const inner = i.shape.map((dim) => [...dim].reduce((s, [k, c]) => s + c * (k === "" ? 1 : env.get(k)!), 0));
        const t = alloc(i.seq ? [B, 6, ...inner] : [B, ...inner], "f64");
        for (let k = 0; k < t.data.length; k++) t.data[k] = i.dtype === "int" ? Math.floor(rng() * 3) : 2 * rng() - 1;
        return [i.name, t];
      }));
      check(ir, inputs, Object.fromEntries(ir.inputs.filter((i) => i.seq).map((i) => [i.name, [6, 4]])), env);
    }, 60_000); // g2p at its own sizes takes ~5 s of finite differences on this machine, more when it is busy

  it("generate with its output fed back, and h[t-2]", () => {
    check(`import { Dense } from "std"
      cell Osc<H> { input x: [H]  state h: [H] = 0  param A, C: [H, H]  h = tanh(A @ h[t-1] + C @ h[t-2] + x)  output y = h }
      model M<I, H> { input start: [H]  layer o = Osc<H>  output ys = generate(o, start = start, steps = 4) }`, { start: rand([B, H], 3) });
  });
});
