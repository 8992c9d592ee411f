// The fused scan, directly and as a tfjs op, against the op-by-op tfjs lowering: outputs, final states and every gradient.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { FusedScan } from "../../src/fused/scan.js";
import type { ModelIR } from "../../src/ir/ir.js";
import { Op } from "../../src/ir/ops.js";
import { optimize } from "../../src/passes/pipeline.js";
import { layerEnv } from "../../src/runtime/dims.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { useBackend } from "../../src/tfjs/backend.js";
import { TfModel, type TfSeq } from "../../src/tfjs/model.js";
import { initParams, modelParamSpecs } from "../../src/weights/weights.js";
import { closeness, modelFrom } from "../helpers.js";

beforeAll(async () => { await useBackend("tfjs-cpu"); });

interface Case { name: string; spec: string; dims: Record<string, number>; lengths?: number[]; int?: boolean }
const B = 3, T = 5;
const cases: Case[] = [
  { name: "LSTM", spec: `model M<I, H> { input x: [T, I]  layer rnn = LSTM<I, H>  s = scan(rnn, x)  output ys = s  output hT = final(s).c }`, dims: { I: 3, H: 4 } },
  { name: "LSTM, variable lengths", spec: `model M<I, H> { input x: [T, I]  layer rnn = LSTM<I, H>  s = scan(rnn, x)  output ys = s  output hT = final(s).h }`, dims: { I: 3, H: 4 }, lengths: [5, 2, 3] },
  { name: "GRU, reverse, initial state, lengths", spec: `model M<I, H> { input x: [T, I]  input h0: [H]  layer rnn = GRU<I, H>  s = scan(rnn, x, init = h0, reverse = true)  output ys = s  output hT = final(s).h }`, dims: { I: 2, H: 3 }, lengths: [4, 5, 1] },
  { name: "GRUResetBefore", spec: `model M<I, H> { input x: [T, I]  layer rnn = GRUResetBefore<I, H>  s = scan(rnn, x)  output ys = s  output hT = final(s).h }`, dims: { I: 2, H: 3 } },
  { name: "TorchLSTM (two biases per gate)", spec: `model M<I, H> { input x: [T, I]  layer rnn = TorchLSTM<I, H>  s = scan(rnn, x)  output ys = s  output hT = final(s).c }`, dims: { I: 3, H: 4 }, lengths: [5, 1, 4] },
  { name: "PeepholeLSTM", spec: `model M<I, H> { input x: [T, I]  layer rnn = PeepholeLSTM<I, H>  s = scan(rnn, x)  output ys = s  output hT = final(s).c }`, dims: { I: 3, H: 2 } },
  { name: "Elman", spec: `model M<I, H> { input x: [T, I]  layer rnn = Elman<I, H>  s = scan(rnn, x)  output ys = s  output hT = final(s).h }`, dims: { I: 3, H: 4 } },
  {
    name: "h[t-2], two inputs", dims: { I: 2, H: 3 }, lengths: [5, 3, 4],
    spec: `cell C<I, H> { input x: [I]  input z: [H]  state h: [H] = 0  param A, U: [H, H]  param W: [H, I]
      h = tanh(W @ x + A @ h[t-1] + U @ h[t-2] + z)  output y = h * z }
    model M<I, H> { input x: [T, I]  input z: [T, H]  layer rnn = C<I, H>  s = scan(rnn, x, z)  output ys = s  output hT = final(s).h }`,
  },
  {
    name: "h[t-2] and h[t-1] both reaching the initial state (its gradient summed over both lags), lengths", dims: { I: 2, H: 3 }, lengths: [5, 1, 3],
    spec: `cell C<I, H> { input x: [I]  state h: [H] = 0  param A, U: [H, H]  param W: [H, I]
      h = tanh(W @ x + A @ h[t-1] + U @ h[t-2])  output y = h }
    model M<I, H> { input x: [T, I]  input h0: [H]  layer rnn = C<I, H>  s = scan(rnn, x, init = h0)  output ys = s  output hT = final(s).h }`,
  },
  {
    name: "two slices of one param, of one shape (values computed from params alone, shared by the backward pass by what they compute)", dims: { I: 2, H: 3 },
    spec: `cell C<I, H> { input x: [I]  state h: [H] = 0  param W: [2*H, H]  param U: [H, I]
      h = tanh(U @ x + W[0:H] @ h[t-1] + W[H:2*H] @ (h[t-1] * h[t-1]))  output y = h }
    model M<I, H> { input x: [T, I]  layer rnn = C<I, H>  s = scan(rnn, x)  output ys = s  output hT = final(s).h }`,
  },
  {
    name: "token ids through an embedding (the g2p decoder)", dims: { P: 6, E: 3, H: 4 }, int: true,
    spec: `cell D<P, E, H> { input phone: [] int  layer embed = Embedding<P, E>  layer rnn = LSTM<E, H>  layer head = Dense<H, P>  output logits = head(rnn(embed(phone))) }
    model M<P, E, H> { input x: [T] int  layer dec = D<P, E, H>  s = scan(dec, x)  output ys = s }`,
  },
];

function randomArray(n: number, rng: () => number, int = false): Float32Array {
  return Float32Array.from({ length: n }, () => (int ? Math.floor(rng() * 3) : 2 * rng() - 1));
}

describe("fused scan vs the op-by-op tfjs lowering", () => {
  for (const c of cases) {
    it(c.name, () => {
      const ir: ModelIR = modelFrom(`import { LSTM, TorchLSTM, PeepholeLSTM, GRU, GRUResetBefore, Elman, Embedding, Dense } from "std"\n${c.spec}`, "M");
      const env = new Map(Object.entries(c.dims));
      const layer = ir.layers[0]!;
      const scanNode = ir.nodes.find((n) => n.op === Op.Scan)!;
      const params = initParams(modelParamSpecs(ir, env), 4);
      const rng = mulberry32(9);
      const inputs = ir.inputs.map((inp) => {
        const inner = inp.shape.map((d) => env.get([...d.keys()][0]!) ?? d.get("")!);
        const shape = inp.seq ? [B, T, ...inner] : [B, ...inner];
        return { name: inp.name, shape, data: randomArray(shape.reduce((a, b) => a * b, 1), rng, inp.dtype === "int"), int: inp.dtype === "int" };
      });
      const outY = ir.outputs.find((o) => o.name === "ys")!.node, outH = ir.outputs.find((o) => o.name === "hT")?.node;
      const H = outH === undefined ? 0 : ir.nodes[outH]!.shape.map((d) => env.get([...d.keys()][0]!)!).reduce((a, b) => a * b, 1);
      const Y = ir.nodes[outY]!.shape.map((d) => env.get([...d.keys()][0]!)!).reduce((a, b) => a * b, 1);
      const wY = randomArray(B * T * Y, rng), wH = randomArray(B * H, rng);
      const names = [...params.keys()];
      const floatInputs = inputs.filter((i) => !i.int);

      // Op by op: the loss Σ wY·ys + Σ wH·hT and its gradient by tfjs' autodiff.
      const lossWith = (fused: boolean) => (...ts: tf.Tensor[]) => {
        const ins = Object.fromEntries(inputs.map((i) => [i.name, i.int ? tf.tensor(i.data, i.shape, "int32") : ts[floatInputs.indexOf(i)]!]));
        const vars = new Map(names.map((n, k) => [n, ts[floatInputs.length + k]!]));
        const v = new TfModel(ir, env, vars, { fused }).run({ inputs: ins, training: true, ...(c.lengths ? { lengths: { x: c.lengths } } : {}) });
        const ys = tf.stack((v[outY] as TfSeq).steps as tf.Tensor[], 1);
        const lossY = tf.sum(tf.mul(ys, tf.tensor(wY, ys.shape)));
        if (outH === undefined) return lossY as tf.Scalar;
        const hT = (v[outH] as { t: tf.Tensor }).t;
        return tf.add(lossY, tf.sum(tf.mul(hT, tf.tensor(wH, hT.shape)))) as tf.Scalar;
      };
      const args = [...floatInputs.map((i) => tf.tensor(i.data, i.shape)), ...names.map((n) => tf.tensor(params.get(n)!.data, [...params.get(n)!.shape]))];
      const want = tf.grads(lossWith(false))(args).map((g) => g.dataSync());
      // The same loss with the scan as one fused tfjs op (its gradient is the fused backward pass).
      const viaOp = tf.grads(lossWith(true))(args).map((g) => g.dataSync());
      want.forEach((w, k) => expect({ k, err: closeness(viaOp[k]!, w, 1e-4, 1e-5) }).toEqual({ k, err: expect.closeTo(0, 0) }));

      // Fused: inputs time-major, the loss's gradients as the upstream gradients.
      const cellIR = optimize(layer.ir);
      const fused = new FusedScan(cellIR, layerEnv(layer, env));
      const prefix = `${layer.name}.`;
      const own = new Map(names.filter((n) => n.startsWith(prefix)).map((n) => [n.slice(prefix.length), params.get(n)!.data as Float32Array]));
      const seqs = inputs.filter((i) => i.shape.length > 1 && i.shape[1] === T && ir.inputs.find((x) => x.name === i.name)!.seq);
      const timeMajor = (a: Float32Array | Int32Array | Uint8Array, size: number) => { const o = new Float32Array(a.length); for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) o.set(a.subarray((b * T + t) * size, (b * T + t + 1) * size), (t * B + b) * size); return o; };
      const sizeOfInput = (i: { shape: number[] }) => i.shape.slice(2).reduce((a, b) => a * b, 1);
      const h0 = inputs.find((i) => i.name === "h0");
      const run = { T, B, xs: seqs.map((i) => timeMajor(i.data, sizeOfInput(i))), ...(h0 ? { init: new Map([[cellIR.states[0]!.name, h0.data]]) } : {}), ...(c.lengths ? { lengths: c.lengths } : {}), reverse: !!scanNode.attrs.reverse };
      const out = fused.forward(own, run);
      const stateName = outH === undefined ? undefined : ir.nodes[outH]!.attrs.name!;
      const g = fused.backward(own, out.tape, [timeMajor(wY, Y)], stateName ? new Map([[stateName, wH]]) : new Map());

      // Forward values against tfjs.
      const v = tf.tidy(() => {
        const ins = Object.fromEntries(inputs.map((i) => [i.name, tf.tensor(i.data, i.shape, i.int ? "int32" : "float32")]));
        const vals = new TfModel(ir, env, new Map(names.map((n) => [n, tf.tensor(params.get(n)!.data, [...params.get(n)!.shape])])), { fused: false }).run({ inputs: ins, ...(c.lengths ? { lengths: { x: c.lengths } } : {}) });
        return [tf.stack((vals[outY] as TfSeq).steps as tf.Tensor[], 1).dataSync(), outH === undefined ? undefined : (vals[outH] as { t: tf.Tensor }).t.dataSync()];
      });
      expect(closeness(out.ys[0]!, timeMajor(v[0] as Float32Array, Y), 1e-4, 1e-5)).toBeLessThanOrEqual(1);
      if (stateName) expect(closeness(out.finals.get(stateName)!, v[1]!, 1e-4, 1e-5)).toBeLessThanOrEqual(1);

      // Gradients against tfjs: inputs (time-major), initial state, params.
      floatInputs.forEach((inp, k) => {
        const got = inp.name === "h0" ? g.dInit.get(cellIR.states[0]!.name)! : g.dxs[seqs.indexOf(inp)]!;
        const ref = inp.name === "h0" ? want[k]! : timeMajor(want[k] as Float32Array, sizeOfInput(inp));
        expect({ input: inp.name, err: closeness(got, ref, 1e-4, 1e-5) }).toEqual({ input: inp.name, err: expect.closeTo(0, 0) });
      });
      names.forEach((n, k) => {
        const got = g.dParams.get(n.slice(prefix.length))!;
        expect({ param: n, err: closeness(got, want[floatInputs.length + k]!, 1e-4, 1e-5) }).toEqual({ param: n, err: expect.closeTo(0, 0) });
      });
    });
  }
});

describe("a kernel that wants no input gradient", () => {
  it.each(cases.filter((c) => !c.int).map((c) => [c.name, c] as const))("%s: the same parameter, state and initial-state gradients, and no input gradient", (_, c) => {
    const ir: ModelIR = modelFrom(`import { LSTM, TorchLSTM, PeepholeLSTM, GRU, GRUResetBefore, Elman, Embedding, Dense } from "std"\n${c.spec}`, "M");
    const env = new Map(Object.entries(c.dims));
    const layer = ir.layers[0]!;
    const cell = optimize(layer.ir);
    const full = new FusedScan(cell, layerEnv(layer, env));
    const lean = new FusedScan(cell, layerEnv(layer, env), cell.inputs.map(() => false));
    const params = new Map([...initParams(modelParamSpecs(ir, env), 4)].filter(([k]) => k.startsWith(`${layer.name}.`)).map(([k, t]) => [k.slice(layer.name.length + 1), t.data as Float32Array]));
    const rng = mulberry32(3);
    const sizeOf = (shape: ModelIR["nodes"][number]["shape"]) => shape.map((d) => env.get([...d.keys()][0]!) ?? d.get("")!).reduce((a, b) => a * b, 1);
    const xs = cell.inputs.map((inp) => Float32Array.from({ length: T * B * sizeOf(inp.shape) }, () => 2 * rng() - 1));
    const run = { T, B, xs, ...(c.lengths ? { lengths: c.lengths } : {}) };
    const dy = Float32Array.from({ length: T * B * sizeOf(cell.nodes[cell.outputs[0]!.node]!.shape) }, () => 2 * rng() - 1);
    const a = full.backward(params, full.forward(params, run, true).tape, [dy], new Map());
    const b = lean.backward(params, lean.forward(params, run, true).tape, [dy], new Map());
    expect(b.dxs.every((d) => d === undefined)).toBe(true);
    expect(a.dxs.some((d) => d !== undefined)).toBe(true);
    for (const [name, g] of a.dParams) expect({ name, err: closeness(b.dParams.get(name)!, g, 1e-6, 1e-7) }).toEqual({ name, err: expect.closeTo(0, 0) });
    for (const [name, g] of a.dInit) expect({ name, err: closeness(b.dInit.get(name)!, g, 1e-6, 1e-7) }).toEqual({ name, err: expect.closeTo(0, 0) });
  });
});

describe("the fused scan's tape buffers, reused from call to call", () => {
  const ir: ModelIR = modelFrom(`import { LSTM } from "std"\nmodel M<I, H> { input x: [T, I]  layer rnn = LSTM<I, H>  s = scan(rnn, x)  output ys = s }`, "M");
  const env = new Map([["I", 3], ["H", 4]]);
  const layer = ir.layers[0]!;
  const params = new Map([...initParams(modelParamSpecs(ir, env), 2)].map(([k, t]) => [k.slice(layer.name.length + 1), t.data as Float32Array]));
  const rng = mulberry32(5);
  const xs = [randomArray(T * B * 3, rng), randomArray(T * B * 3, rng)];
  const dy = randomArray(T * B * 4, rng);
  const gradients = (k: FusedScan, x: Float32Array) => {
    const out = k.forward(params, { T, B, xs: [x] }, true);
    return k.backward(params, out.tape, [dy], new Map());
  };
  const flat = (g: ReturnType<typeof gradients>) => [...g.dxs[0]!, ...[...g.dParams.values()].flatMap((d) => [...d])];

  it("two tapes alive at once (a layer applied twice) each give their own gradients, equal to a fresh kernel's", () => {
    const k = new FusedScan(optimize(layer.ir), layerEnv(layer, env));
    const want = xs.map((x) => flat(gradients(new FusedScan(optimize(layer.ir), layerEnv(layer, env)), x)));
    const outs = xs.map((x) => k.forward(params, { T, B, xs: [x] }, true));
    const got = [...outs].reverse().map((o) => flat(k.backward(params, o.tape, [dy], new Map()))).reverse(); // the later tape first
    expect(got).toEqual(want);
    // Again on the spare buffers those tapes gave back (an inference pass in between takes and gives them too).
    k.forward(params, { T, B, xs: [xs[1]!] }, false);
    expect(xs.map((x) => flat(gradients(k, x)))).toEqual(want);
  });

  it("a tape read by a second backward pass is refused (its buffers may already hold another call's values)", () => {
    const k = new FusedScan(optimize(layer.ir), layerEnv(layer, env));
    const out = k.forward(params, { T, B, xs: [xs[0]!] }, true);
    k.backward(params, out.tape, [dy], new Map());
    expect(() => k.backward(params, out.tape, [dy], new Map())).toThrow(/second backward pass/);
  });
});
