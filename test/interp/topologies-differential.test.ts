// Differential tests of model topologies on the interpreter vs tf.layers (cpu backend): stacking, many-to-one,
// bidirectional merges, reverse direction, masked variable-length batches.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { runModel } from "../../src/interp/run-model.js";
import type { Tensor } from "../../src/runtime/tensor.js";
import type { ModelIR } from "../../src/ir/ir.js";
import { initParams, modelParamSpecs } from "../../src/weights/weights.js";
import { closeness, modelFrom, randomTensor } from "../helpers.js";

beforeAll(async () => { await tf.setBackend("cpu"); });

const tfOf = (t: Tensor) => tf.tensor(Array.from(t.data), [...t.shape]);

/** Seeded params with random (non-zero) biases, keyed `layer.param`. */
function paramsFor(ir: ModelIR, env: Map<string, number>, seed: number): Map<string, Tensor> {
  const specs = modelParamSpecs(ir, env);
  const params = initParams(specs, seed);
  specs.forEach((s, i) => { if (s.shape.length === 1) params.set(s.name, randomTensor([...s.shape], seed + 31 * i, 0.5)); });
  return params;
}

const gates: Record<string, { cell: string; tf: (o: object) => tf.layers.Layer; x: string[]; h: string[]; b: string[] }> = {
  LSTM: { cell: "LSTM", tf: (o) => tf.layers.lstm({ recurrentActivation: "sigmoid", ...o } as any), x: ["W_xi", "W_xf", "W_xg", "W_xo"], h: ["W_hi", "W_hf", "W_hg", "W_ho"], b: ["b_i", "b_f", "b_g", "b_o"] },
  GRU: { cell: "GRUResetBefore", tf: (o) => tf.layers.gru({ recurrentActivation: "sigmoid", ...o } as any), x: ["W_xz", "W_xr", "W_xn"], h: ["W_hz", "W_hr", "W_hn"], b: ["b_z", "b_r", "b_n"] },
};

/** tf.layers weights [kernel, recurrentKernel, bias] of our layer `name`. */
function tfWeights(p: Map<string, Tensor>, layer: string, kind: keyof typeof gates): tf.Tensor[] {
  const g = gates[kind]!;
  const cat = (names: string[], transpose: boolean) => tf.concat(names.map((n) => { const t = tfOf(p.get(`${layer}.${n}`)!); return transpose ? t.transpose() : t; }), transpose ? 1 : 0);
  return [cat(g.x, true), cat(g.h, true), cat(g.b, false)];
}

function expectClose(ours: ArrayLike<number>, theirs: ArrayLike<number>) {
  expect(closeness(ours, theirs)).toBeLessThanOrEqual(1);
  expect(Math.max(...Array.from(theirs).map(Math.abs))).toBeGreaterThan(1e-3);
}

const B = 3, T = 9, I = 5, H = 6;
const env = new Map([["I", I], ["H", H]]);

describe.each(["LSTM", "GRU"] as const)("%s topologies vs tf.layers", (kind) => {
  const cell = gates[kind]!.cell;

  it("stacked (two layers, sequence to sequence)", () => {
    const ir = modelFrom(`import { ${cell} } from "std"
      model M<I, H> { input x: [T, I]  layer a = ${cell}<I, H>  layer b = ${cell}<H, H>  output y = scan(b, scan(a, x)) }`);
    const p = paramsFor(ir, env, 1);
    const x = randomTensor([B, T, I], 2);
    const ours = runModel(ir, env, p, { inputs: { x } })["y"]!.tensor!;
    const la = gates[kind]!.tf({ units: H, returnSequences: true, inputShape: [T, I] });
    const lb = gates[kind]!.tf({ units: H, returnSequences: true });
    const model = tf.sequential({ layers: [la, lb] });
    la.setWeights(tfWeights(p, "a", kind));
    lb.setWeights(tfWeights(p, "b", kind));
    expectClose(ours.data, (model.predict(tfOf(x)) as tf.Tensor).dataSync());
  });

  it("many-to-one (last output, like returnSequences: false)", () => {
    const ir = modelFrom(`import { ${cell} } from "std"
      model M<I, H> { input x: [T, I]  layer a = ${cell}<I, H>  output y = last(scan(a, x)) }`);
    const p = paramsFor(ir, env, 3);
    const x = randomTensor([B, T, I], 4);
    const ours = runModel(ir, env, p, { inputs: { x } })["y"]!.tensor!;
    const la = gates[kind]!.tf({ units: H, returnSequences: false, inputShape: [T, I] });
    const model = tf.sequential({ layers: [la] });
    la.setWeights(tfWeights(p, "a", kind));
    expect(ours.shape).toEqual([B, H]);
    expectClose(ours.data, (model.predict(tfOf(x)) as tf.Tensor).dataSync());
  });

  it("reverse direction (goBackwards), outputs aligned with the input steps", () => {
    const ir = modelFrom(`import { ${cell} } from "std"
      model M<I, H> { input x: [T, I]  layer a = ${cell}<I, H>  output y = scan(a, x, reverse = true) }`);
    const p = paramsFor(ir, env, 5);
    const x = randomTensor([B, T, I], 6);
    const ours = runModel(ir, env, p, { inputs: { x } })["y"]!.tensor!;
    const la = gates[kind]!.tf({ units: H, returnSequences: true, goBackwards: true, inputShape: [T, I] });
    const model = tf.sequential({ layers: [la] });
    la.setWeights(tfWeights(p, "a", kind));
    // tf.layers returns the backward pass in processing order; flip it to input order.
    const theirs = (tf.reverse(model.predict(tfOf(x)) as tf.Tensor, 1)).dataSync();
    expectClose(ours.data, theirs);
  });

  it.each(["concat", "sum", "mul", "ave"])("bidirectional, merge %s", (merge) => {
    const ir = modelFrom(`import { ${cell} } from "std"
      model M<I, H> { input x: [T, I]  layer f = ${cell}<I, H>  layer b = ${cell}<I, H>  output y = bidirectional(f, b, x, merge = ${merge}) }`);
    const p = paramsFor(ir, env, 7);
    const x = randomTensor([B, T, I], 8);
    const ours = runModel(ir, env, p, { inputs: { x } })["y"]!.tensor!;
    const bi = tf.layers.bidirectional({ layer: gates[kind]!.tf({ units: H, returnSequences: true }) as any, mergeMode: merge as any, inputShape: [T, I] });
    const model = tf.sequential({ layers: [bi] });
    bi.setWeights([...tfWeights(p, "f", kind), ...tfWeights(p, "b", kind)]);
    expect(ours.shape).toEqual([B, T, merge === "concat" ? 2 * H : H]);
    expectClose(ours.data, (model.predict(tfOf(x)) as tf.Tensor).dataSync());
  });

  it("initial states from model inputs (`init = states(…)`), and the final states, like initialState and returnState", () => {
    const states = kind === "LSTM" ? "h = h0, c = c0" : "h = h0";
    const ir = modelFrom(`import { ${cell} } from "std"
      model M<I, H> { input x: [T, I]  input h0: [H]  input c0: [H]  layer a = ${cell}<I, H>
        enc = scan(a, x, init = states(${states}))  output y = enc  output s = final(enc) }`);
    const p = paramsFor(ir, env, 11);
    const x = randomTensor([B, T, I], 12), h0 = randomTensor([B, H], 13), c0 = randomTensor([B, H], 14);
    const r = runModel(ir, env, p, { inputs: { x, h0, c0 } });
    const layer = gates[kind]!.tf({ units: H, returnSequences: true, returnState: true });
    const start = kind === "LSTM" ? [tfOf(h0), tfOf(c0)] : [tfOf(h0)];
    tf.dispose(layer.apply(tfOf(x), { initialState: start }) as tf.Tensor[]);
    layer.setWeights(tfWeights(p, "a", kind));
    const [seq, ...finals] = (layer.apply(tfOf(x), { initialState: start }) as tf.Tensor[]).map((t) => t.dataSync());
    expectClose(r["y"]!.tensor!.data, seq!);
    expectClose(r["s"]!.states!["h"]!.data, finals[0]!);
    if (kind === "LSTM") expectClose(r["s"]!.states!["c"]!.data, finals[1]!);
    // The states did start there: from zeros the outputs differ.
    const zero = runModel(ir, env, p, { inputs: { x, h0: randomTensor([B, H], 13, 0), c0: randomTensor([B, H], 14, 0) } });
    expect(closeness(zero["y"]!.tensor!.data, seq!)).toBeGreaterThan(1);
  });

  it("bidirectional started by init_fwd and init_bwd; final of it joins the directions' states", () => {
    const st = (h: string, c: string) => (kind === "LSTM" ? `h = ${h}, c = ${c}` : `h = ${h}`);
    const ir = modelFrom(`import { ${cell} } from "std"
      model M<I, H> { input x: [T, I]  input h0: [H]  input c0: [H]  input h1: [H]  input c1: [H]  layer f = ${cell}<I, H>  layer b = ${cell}<I, H>
        both = bidirectional(f, b, x, init_fwd = states(${st("h0", "c0")}), init_bwd = states(${st("h1", "c1")}))  output y = both  output s = final(both) }`);
    const p = paramsFor(ir, env, 15);
    const [x, h0, c0, h1, c1] = [randomTensor([B, T, I], 16), randomTensor([B, H], 17), randomTensor([B, H], 18), randomTensor([B, H], 19), randomTensor([B, H], 20)];
    const r = runModel(ir, env, p, { inputs: { x, h0, c0, h1, c1 } });
    const bi = tf.layers.bidirectional({ layer: gates[kind]!.tf({ units: H, returnSequences: true, returnState: true }) as any, mergeMode: "concat" });
    const start = kind === "LSTM" ? [h0, c0, h1, c1].map(tfOf) : [h0, h1].map(tfOf);
    tf.dispose(bi.apply(tfOf(x), { initialState: start }) as tf.Tensor[]);
    bi.setWeights([...tfWeights(p, "f", kind), ...tfWeights(p, "b", kind)]);
    const [seq, ...finals] = (bi.apply(tfOf(x), { initialState: start }) as tf.Tensor[]).map((t) => t.dataSync());
    expectClose(r["y"]!.tensor!.data, seq!);
    // final(both).h is [h_fwd ⧺ h_bwd] per example.
    const n = kind === "LSTM" ? 2 : 1;
    const joined = (k: number) => Float32Array.from({ length: B * 2 * H }, (_, i) => {
      const [b, j] = [Math.floor(i / (2 * H)), i % (2 * H)];
      return j < H ? finals[k]![b * H + j]! : finals[n + k]![b * H + j - H]!;
    });
    expect(r["s"]!.states!["h"]!.shape).toEqual([B, 2 * H]);
    expectClose(r["s"]!.states!["h"]!.data, joined(0));
    if (kind === "LSTM") expectClose(r["s"]!.states!["c"]!.data, joined(1));
  });

  it("masked variable-length batch: padded steps change no state and are not output", () => {
    const ir = modelFrom(`import { ${cell} } from "std"
      model M<I, H> { input x: [T, I]  layer a = ${cell}<I, H>  enc = scan(a, x)  output y = enc  output last_y = last(enc)  output s = final(enc) }`);
    const p = paramsFor(ir, env, 9);
    const x = randomTensor([B, T, I], 10);
    const lengths = [T, 4, 1];
    const r = runModel(ir, env, p, { inputs: { x }, lengths: { x: lengths } });
    const layer = gates[kind]!.tf({ units: H, returnSequences: true, returnState: true });
    const mask = tf.tensor2d(lengths.map((l) => Array.from({ length: T }, (_, t) => (t < l ? 1 : 0))), [B, T], "bool");
    tf.dispose(layer.apply(tfOf(x)) as tf.Tensor[]);
    layer.setWeights(tfWeights(p, "a", kind));
    const [seq, ...finals] = (layer.apply(tfOf(x), { mask }) as tf.Tensor[]).map((t) => t.dataSync());
    expect(r["y"]!.lengths).toEqual(lengths);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const ours = r["y"]!.tensor!.data.subarray((b * T + t) * H, (b * T + t + 1) * H);
        if (t < lengths[b]!) expectClose(ours, seq!.subarray((b * T + t) * H, (b * T + t + 1) * H));
        else expect(Array.from(ours)).toEqual(new Array(H).fill(0));
      }
      // Final states and the last output are taken at each sequence's own last step.
      expectClose(r["last_y"]!.tensor!.data.subarray(b * H, (b + 1) * H), seq!.subarray((b * T + lengths[b]! - 1) * H, (b * T + lengths[b]!) * H));
    }
    expectClose(r["s"]!.states!["h"]!.data, finals[0]!);
    if (kind === "LSTM") expectClose(r["s"]!.states!["c"]!.data, finals[1]!);
  });
});
