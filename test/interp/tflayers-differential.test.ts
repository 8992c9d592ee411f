// Differential tests: stdlib Elman, LSTM and GRU (reset-before) on the interpreter vs tf.layers on the tfjs cpu backend.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { runCell } from "../../src/interp/run-cell.js";
import type { Tensor } from "../../src/runtime/tensor.js";
import type { CellIR } from "../../src/ir/ir.js";
import { cellParamSpecs, initParams } from "../../src/weights/weights.js";
import { closeness, randomTensor, stdlibCell } from "../helpers.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

/** Configurations: input size, hidden size, batch, length. */
const configs: [number, number, number, number][] = [[3, 4, 2, 5], [1, 2, 2, 3], [7, 16, 3, 12], [5, 8, 4, 40]];


const tfOf = (t: Tensor) => tf.tensor(Array.from(t.data), [...t.shape]);
/** Our weights are [out, in]; tf.layers kernels are [in, out], gates stacked along the last axis. */
const kernel = (params: Map<string, Tensor>, names: string[]) => tf.concat(names.map((n) => tfOf(params.get(n)!).transpose()), 1);
const bias = (params: Map<string, Tensor>, names: string[]) => tf.concat(names.map((n) => tfOf(params.get(n)!)), 0);

/** Non-trivial weights: the declared initializers plus random biases, so every term matters. */
function weightsFor(ir: CellIR, I: number, H: number, seed: number): Map<string, Tensor> {
  const env = new Map([["I", I], ["H", H]]);
  const params = initParams(cellParamSpecs(ir, env), seed);
  for (const p of ir.params) if (p.shape.length === 1) params.set(p.name, randomTensor([H], seed + p.name.length * 7919 + p.name.charCodeAt(p.name.length - 1), 0.5));
  return params;
}

interface Case {
  cell: () => CellIR;
  layer: (H: number) => tf.layers.Layer;
  weights: (p: Map<string, Tensor>) => tf.Tensor[];
  states: string[];
}

const cases: Record<string, Case> = {
  "Elman (tanh) vs tf.layers.simpleRNN": {
    cell: () => stdlibCell("elman.rnn", "Elman"),
    layer: (H) => tf.layers.simpleRNN({ units: H, activation: "tanh", returnSequences: true, returnState: true }),
    weights: (p) => [kernel(p, ["W_xh"]), kernel(p, ["W_hh"]), bias(p, ["b_h"])],
    states: ["h"],
  },
  "Elman (relu) vs tf.layers.simpleRNN": {
    cell: () => stdlibCell("elman.rnn", "Elman", { act: "relu" }),
    layer: (H) => tf.layers.simpleRNN({ units: H, activation: "relu", returnSequences: true, returnState: true }),
    weights: (p) => [kernel(p, ["W_xh"]), kernel(p, ["W_hh"]), bias(p, ["b_h"])],
    states: ["h"],
  },
  "LSTM vs tf.layers.lstm": {
    cell: () => stdlibCell("lstm.rnn", "LSTM"),
    layer: (H) => tf.layers.lstm({ units: H, recurrentActivation: "sigmoid", returnSequences: true, returnState: true }),
    // tf.layers stacks the gates i, f, c, o.
    weights: (p) => [kernel(p, ["W_xi", "W_xf", "W_xg", "W_xo"]), kernel(p, ["W_hi", "W_hf", "W_hg", "W_ho"]), bias(p, ["b_i", "b_f", "b_g", "b_o"])],
    states: ["h", "c"],
  },
  "GRU (reset before) vs tf.layers.gru": {
    cell: () => stdlibCell("gru.rnn", "GRUResetBefore"),
    layer: (H) => tf.layers.gru({ units: H, recurrentActivation: "sigmoid", returnSequences: true, returnState: true }),
    // tf.layers stacks the gates z, r, h.
    weights: (p) => [kernel(p, ["W_xz", "W_xr", "W_xn"]), kernel(p, ["W_hz", "W_hr", "W_hn"]), bias(p, ["b_z", "b_r", "b_n"])],
    states: ["h"],
  },
};

describe.each(Object.entries(cases))("%s", (_name, c) => {
  it.each(configs)("I=%i H=%i batch=%i steps=%i, non-zero initial states", (I, H, B, T) => {
    const ir = c.cell();
    const seed = I * 1000 + H * 100 + B * 10 + T;
    const params = weightsFor(ir, I, H, seed);
    const x = randomTensor([B, T, I], seed + 1);
    const initial = Object.fromEntries(c.states.map((s, k) => [s, randomTensor([B, H], seed + 2 + k, 0.8)]));
    const ours = runCell(ir, new Map([["I", I], ["H", H]]), params, { inputs: { x }, initialStates: initial });

    const layer = c.layer(H);
    const call = () => layer.apply(tfOf(x), { initialState: c.states.map((s) => tfOf(initial[s]!)) }) as tf.Tensor[];
    tf.dispose(call()); // builds the layer (with initial states as extra inputs); then its weights are replaced
    layer.setWeights(c.weights(params));
    const result = call();
    const [seq, ...finals] = result.map((t) => t.dataSync());

    expect(closeness(ours.outputs["h"]!.data, seq!)).toBeLessThanOrEqual(1);
    c.states.forEach((s, k) => expect(closeness(ours.states[s]!.data, finals[k]!)).toBeLessThanOrEqual(1));
    // The comparison is not vacuous: outputs vary and are not all zero.
    expect(Math.max(...Array.from(seq!).map(Math.abs))).toBeGreaterThan(1e-3);
    tf.dispose(result);
    layer.dispose();
  });
});
