// Whole models with fused scans against the same models op by op: every example model and the topologies, outputs and every param's gradient.
import * as tf from "@tensorflow/tfjs";
import { afterAll, describe, expect, it } from "vitest";
import type { ModelIR } from "../../src/ir/ir.js";
import { resolveDims } from "../../src/runtime/dims.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { useBackend } from "../../src/tfjs/backend.js";
import { TfModel, type TfModelValue } from "../../src/tfjs/model.js";
import { initParams, modelParamSpecs } from "../../src/weights/weights.js";
import { closeness, exampleModels, modelFrom } from "../helpers.js";

const B = 3, T = 6;
const lengths = [6, 4, 5];

const topologies: [string, string][] = [
  ["stacked", `model M<I = 3, H = 4> { input x: [T, I]  layer a = LSTM<I, H>  layer b = GRU<H, H>  output y = scan(b, scan(a, x)) }`],
  ["bidirectional", `model M<I = 3, H = 4> { input x: [T, I]  layer f = LSTM<I, H>  layer g = LSTM<I, H>  output y = bidirectional(f, g, x, merge = concat) }`],
  ["encoder–decoder, teacher forced", `model M<I = 3, H = 4> { input x: [T, I]  input y0: [T, I]  layer enc = LSTM<I, H>  layer dec = LSTM<I, H>
    output y = scan(dec, y0, init = final(scan(enc, x))) }`],
  ["states from model inputs, a bidirectional started and its final states joined", `model M<I = 3, H = 4> { input x: [T, I]  input h0: [H]  input c0: [H]  layer a = LSTM<I, H>
    layer f = GRU<I, H>  layer g = GRU<I, H>  layer dec = LSTM<I, 2 * H>  output y = scan(a, x, init = states(h = h0, c = c0))
    both = bidirectional(f, g, x, init_fwd = states(h = c0), init_bwd = states(h = h0))  output z = scan(dec, x, init = states(h = final(both).h, c = final(both).h * 0.5))  output w = both }`],
  ["reverse with h[t-2]", `cell C<I, H> { input x: [I]  state h: [H] = 0  param W: [H, I]  param U, V: [H, H]  h = tanh(W @ x + U @ h[t-1] + V @ h[t-2])  output h }
    model M<I = 3, H = 4> { input x: [T, I]  layer c = C<I, H>  output y = scan(c, x, reverse = true) }`],
];

function models(): [string, ModelIR][] {
  return [...exampleModels(["G2PBiAttention", "G2PBi2Drop", "G2PBi2Wide", "G2PEnsemble"]), ...topologies.map(([name, spec]): [string, ModelIR] => [name, modelFrom(`import { LSTM, GRU } from "std"\n${spec}`, "M")])];
}

afterAll(async () => { await useBackend("tfjs-cpu"); });

for (const backend of ["tfjs-cpu", "tfjs-wasm"] as const) {
  describe(`models with fused scans on ${backend}`, () => {
    for (const [name, ir] of models()) {
      it(name, async () => {
        await useBackend(backend);
        const env = resolveDims(ir, new Map());
        const params = initParams(modelParamSpecs(ir, env), 2);
        const names = [...params.keys()];
        const rng = mulberry32(5);
        const ins = Object.fromEntries(ir.inputs.map((i) => {
          const inner = i.shape.map((d) => [...d].reduce((s, [k, c]) => s + c * (k === "" ? 1 : env.get(k)!), 0));
          const shape = i.seq ? [B, T, ...inner] : [B, ...inner];
          const n = shape.reduce((a, b) => a * b, 1);
          const data = Float32Array.from({ length: n }, () => (i.dtype === "int" ? Math.floor(rng() * 3) : 2 * rng() - 1));
          return [i.name, { data, shape, int: i.dtype === "int" }];
        }));
        const seqLengths = Object.fromEntries(ir.inputs.filter((i) => i.seq).map((i) => [i.name, lengths]));
        const readsWhole = (layer: string) => ir.layers.find((l) => l.name === layer)!.ir.inputs.some((i) => i.memory !== undefined);
        const floatOutputs = ir.outputs.filter((o) => ir.nodes[o.node]!.dtype === "float");
        const weights = new Map<string, Float32Array>();
        const lossWith = (fused: boolean) => (...ps: tf.Tensor[]) => {
          const vars = new Map(names.map((n, k) => [n, ps[k]!]));
          const inputs = Object.fromEntries(Object.entries(ins).map(([k, v]) => [k, tf.tensor(v.data, v.shape, v.int ? "int32" : "float32")]));
          const m = new TfModel(ir, env, vars, { fused });
          // The fused run is not told it is training: a gradient being recorded (tf.grads here) is enough.
          const v = m.run({ inputs, lengths: seqLengths, ...(fused ? {} : { training: true }) });
          let loss = tf.scalar(0);
          for (const o of floatOutputs) {
            const val = v[o.node]! as TfModelValue;
            const t = val.kind === "seq" ? tf.stack(val.steps as tf.Tensor[], 1) : val.kind === "one" ? val.t : undefined;
            if (!t) continue;
            if (!weights.has(o.name)) weights.set(o.name, Float32Array.from({ length: t.size }, () => 2 * rng() - 1));
            loss = tf.add(loss, tf.sum(tf.mul(t, tf.tensor(weights.get(o.name)!, t.shape))));
          }
          // Every scan is fused, but one of a layer that reads a sequence whole (attention), which runs op by op and says so.
          if (fused) expect([...m.paths.values()].filter((p) => p.kind === "scan").every((p) => p.fused !== readsWhole(p.layer) && (p.fused || p.why.includes("reads a sequence whole"))), JSON.stringify([...m.paths.values()])).toBe(true);
          return loss as tf.Scalar;
        };
        const args = names.map((n) => tf.tensor(params.get(n)!.data, [...params.get(n)!.shape]));
        const want = tf.grads(lossWith(false))(args).map((g) => g.dataSync());
        const got = tf.grads(lossWith(true))(args).map((g) => g.dataSync());
        names.forEach((n, k) => expect({ n, err: closeness(got[k]!, want[k]!, 1e-4, 1e-5) }).toEqual({ n, err: expect.closeTo(0, 0) }));
        // A forward pass alone (no gradient recorded): fused without a tape, the same outputs.
        const outputsOf = (fused: boolean) => tf.tidy(() => {
          const vars = new Map(names.map((n, k) => [n, args[k]!]));
          const inputs = Object.fromEntries(Object.entries(ins).map(([k, v]) => [k, tf.tensor(v.data, v.shape, v.int ? "int32" : "float32")]));
          const m = new TfModel(ir, env, vars, { fused });
          const v = m.run({ inputs, lengths: seqLengths });
          if (fused) expect([...m.paths.values()].filter((p) => p.kind === "scan" && !readsWhole(p.layer)).every((p) => p.fused && /forward pass alone/.test(p.why))).toBe(true);
          return floatOutputs.flatMap((o) => {
            const val = v[o.node]! as TfModelValue;
            return val.kind === "seq" ? [tf.stack(val.steps as tf.Tensor[], 1).dataSync()] : val.kind === "one" ? [val.t.dataSync()] : [];
          });
        });
        const plain = outputsOf(false);
        outputsOf(true).forEach((y, k) => expect(closeness(y, plain[k]!, 1e-5, 1e-6)).toBeLessThanOrEqual(1));
        tf.dispose(args);
      });
    }
  });
}
