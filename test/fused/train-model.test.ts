// The fused trainer against tfjs' own autodiff (scans op by op): the same losses and weights step after step on every model kind it takes.
import { beforeAll, describe, expect, it } from "vitest";
import type { ModelIR } from "../../src/ir/ir.js";
import { FusedTrainer, fusedTrainingUnsupported } from "../../src/fused/train-model.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { alloc, type Tensor } from "../../src/runtime/tensor.js";
import type { Batch, OptimizerName, TrainSettings } from "../../src/runtime/training.js";
import { useBackend } from "../../src/tfjs/backend.js";
import { Trainer } from "../../src/tfjs/train.js";
import { initParams, modelParamSpecs } from "../../src/weights/weights.js";
import { closeness, modelFrom } from "../helpers.js";

beforeAll(async () => { await useBackend("tfjs-cpu"); });

interface Case { readonly name: string; readonly ir: ModelIR; readonly env: Map<string, number>; readonly settings: Omit<TrainSettings, "optimizer" | "learningRate">; readonly batch: (seed: number) => Batch }

/** B examples of lengths 1 … T (at least one of T), token ids below V or floats in [-1, 1). */
function sequence(rng: () => number, B: number, T: number, width: number | "ids", V = 0): { t: Tensor; lengths: number[] } {
  const t = alloc(width === "ids" ? [B, T] : [B, T, width], "f32");
  for (let i = 0; i < t.data.length; i++) t.data[i] = width === "ids" ? Math.floor(rng() * V) : 2 * rng() - 1;
  const lengths = Array.from({ length: B }, (_, b) => (b === 0 ? T : 1 + Math.floor(rng() * T)));
  return { t, lengths };
}

/** 4 sequences of up to 5 steps of `width` values, each step's target two values. */
function forecast(seed: number, width: number): Batch {
  const rng = mulberry32(seed);
  const s = sequence(rng, 4, 5, width);
  return { inputs: { x: s.t }, lengths: { x: s.lengths }, targets: s.lengths.map((l) => Array.from({ length: l }, () => [rng(), rng() - 0.5])) };
}

const cases: Case[] = [
  {
    name: "a classifier on logits: embedding map, GRU, last, dense",
    ir: modelFrom(`import { Embedding, GRU, Dense } from "std"
      model M<V = 9, E = 4, H = 6> { input ids: [T] int  layer embed = Embedding<V, E>  layer rnn = GRU<E, H>  layer head = Dense<H, 3>
        output logits = head(last(scan(rnn, map(embed, ids)))) }`),
    env: new Map([["V", 9], ["E", 4], ["H", 6]]),
    settings: { output: "logits", loss: "crossentropy" },
    batch: (seed) => {
      const rng = mulberry32(seed);
      const s = sequence(rng, 5, 6, "ids", 9);
      return { inputs: { ids: s.t }, lengths: { ids: s.lengths }, targets: s.lengths.map((l) => l % 3) };
    },
  },
  {
    name: "a classifier on probabilities (a softmax head): cross-entropy of their log",
    ir: modelFrom(`import { LSTM, Dense } from "std"
      model M<H = 5> { input x: [T, 2]  layer rnn = LSTM<2, H>  layer head = Dense<H, 2>(act = softmax)  output p = head(last(scan(rnn, x))) }`),
    env: new Map([["H", 5]]),
    settings: { output: "p", loss: "crossentropy", clipNorm: 0.5 },
    batch: (seed) => {
      const rng = mulberry32(seed);
      const s = sequence(rng, 4, 5, 2);
      return { inputs: { x: s.t }, lengths: { x: s.lengths }, targets: [0, 1, 1, 0] };
    },
  },
  {
    name: "a forecaster: MSE at every valid step of a map over a reversed LSTM",
    ir: modelFrom(`import { LSTM, Dense } from "std"
      model M<H = 6> { input x: [T, 3]  layer rnn = LSTM<3, H>  layer head = Dense<H, 2>  output y = map(head, scan(rnn, x, reverse = true)) }`),
    env: new Map([["H", 6]]),
    settings: { output: "y", loss: "mse" },
    batch: (seed) => forecast(seed, 3),
  },
  {
    name: "an encoder–decoder: the decoder (a cell of layers) started from the encoder's final states",
    ir: modelFrom(`import { Embedding, LSTM, Dense } from "std"
      cell Dec<P, E, H> { input phone: [] int  layer embed = Embedding<P, E>  layer rnn = LSTM<E, H>  layer head = Dense<H, P>  output logits = head(rnn(embed(phone))) }
      model M<L = 7, P = 6, E = 3, H = 5> { input letters: [S] int  input prev: [T] int  layer letter = Embedding<L, E>  layer enc = LSTM<E, H>  layer dec = Dec<P, E, H>
        e = scan(enc, map(letter, letters))  output logits = scan(dec, prev, init = final(e))  output phones = generate(dec, init = final(e), start = 0, steps = 4, until = 1) }`),
    env: new Map([["L", 7], ["P", 6], ["E", 3], ["H", 5]]),
    settings: { output: "logits", loss: "crossentropy", clipNorm: 1 },
    batch: (seed) => {
      const rng = mulberry32(seed);
      const a = sequence(rng, 4, 6, "ids", 7), b = sequence(rng, 4, 5, "ids", 6);
      return { inputs: { letters: a.t, prev: b.t }, lengths: { letters: a.lengths, prev: b.lengths }, targets: b.lengths.map((l) => Array.from({ length: l }, () => Math.floor(rng() * 6))) };
    },
  },
  {
    name: "states from a single value (apply) and from a record's fields, stacked GRU and LSTM",
    ir: modelFrom(`import { GRU, LSTM, Dense } from "std"
      model M<C = 2, H = 4> { input c: [C]  input x: [T, 2]  layer begin = Dense<C, H>(act = tanh)  layer a = LSTM<2, H>  layer b = GRU<H, H>  layer head = Dense<H, 1>
        s = scan(a, x, init = states(h = begin(c), c = begin(c)))  output y = map(head, scan(b, s, init = states(h = final(s).c))) }`),
    env: new Map([["C", 2], ["H", 4]]),
    settings: { output: "y", loss: "mse", weightDecay: 0.1 },
    batch: (seed) => {
      const rng = mulberry32(seed);
      const s = sequence(rng, 3, 4, 2);
      const c = alloc([3, 2], "f32");
      c.data.set([1, 0, 0, 1, 1, 0]);
      return { inputs: { c, x: s.t }, lengths: { x: s.lengths }, targets: s.lengths.map((l) => Array.from({ length: l }, () => [rng()])) };
    },
  },
  {
    name: "model-level ops between layers: a bidirectional pair joined (concat), a sum of scans scaled by a constant, states from a scaled field",
    ir: modelFrom(`import { GRU, LSTM, Dense } from "std"
      model M<H = 3> { input x: [T, 2]  layer f = GRU<2, H>  layer g = GRU<2, H>  layer a = LSTM<2, H>  layer b = LSTM<2 * H, H>  layer head = Dense<H, 2>
        both = bidirectional(f, g, x)  s = scan(a, x)
        output y = map(head, 0.5 * (scan(b, both, init = states(h = final(s).c * 0.5, c = -final(s).h)) + s) - s * s) }`),
    env: new Map([["H", 3]]),
    settings: { output: "y", loss: "mse" },
    batch: (seed) => forecast(seed, 2),
  },
];

const optimizers: readonly [OptimizerName, number][] = [["sgd", 0.3], ["momentum", 0.1], ["adam", 0.02], ["rmsprop", 0.01]];

describe("FusedTrainer", () => {
  for (const c of cases)
    for (const [optimizer, learningRate] of optimizers)
      it(`${c.name}, ${optimizer}: 4 steps give tfjs' losses and weights (its scans op by op)`, () => {
        expect(fusedTrainingUnsupported(c.ir, c.settings.output)).toBeUndefined();
        const start = initParams(modelParamSpecs(c.ir, c.env), 5);
        const settings = { ...c.settings, optimizer, learningRate };
        const tfjs = new Trainer(c.ir, c.env, start, { ...settings, lowering: { fused: false } });
        const fused = new FusedTrainer(c.ir, c.env, start, settings);
        const losses = [0, 1, 2, 3].map((s) => [tfjs.step(c.batch(10 + s)), fused.step(c.batch(10 + s))] as const);
        for (const [a, b] of losses) expect(Math.abs(a - b), `${losses.join(" | ")}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(a)));
        const [mine, theirs] = [fused.params(), tfjs.params()];
        let moved = 0;
        for (const [name, w] of theirs) {
          expect(closeness(mine.get(name)!.data, w.data, 1e-4, 1e-5), name).toBeLessThanOrEqual(1);
          moved = Math.max(moved, ...w.data.map((x, i) => Math.abs(x - start.get(name)!.data[i]!)));
        }
        expect(moved).toBeGreaterThan(1e-3); // the weights did move
        const [ea, eb] = [tfjs.evaluate(c.batch(99)), fused.evaluate(c.batch(99))];
        expect(Math.abs(ea.loss - eb.loss)).toBeLessThan(1e-5 * Math.max(1, ea.loss));
        expect(eb.metric).toBeCloseTo(ea.metric, 5);
        tfjs.dispose();
        fused.dispose();
      });

  it("a checkpoint's optimizer state moves between the engines: tfjs' Adam state resumed on the fused trainer continues as tfjs does", async () => {
    const c = cases[3]!;
    const start = initParams(modelParamSpecs(c.ir, c.env), 8);
    const settings = { ...c.settings, optimizer: "adam" as const, learningRate: 0.02 };
    const tfjs = new Trainer(c.ir, c.env, start, settings);
    for (let s = 0; s < 3; s++) tfjs.step(c.batch(s));
    const state = await tfjs.optimizerState();
    const fused = new FusedTrainer(c.ir, c.env, tfjs.params(), settings);
    expect(await fused.restoreOptimizer(state)).toBe(true);
    const back = await fused.optimizerState();
    expect(back.weights.map((w) => w.name).sort()).toEqual(state.weights.map((w) => w.name).sort());
    for (let s = 3; s < 5; s++) expect(fused.step(c.batch(s))).toBeCloseTo(tfjs.step(c.batch(s)), 5);
    for (const [name, w] of tfjs.params()) expect(closeness(fused.params().get(name)!.data, w.data, 1e-4, 1e-5), name).toBeLessThanOrEqual(1);
    // Another optimizer's state is refused and changes nothing.
    expect(await fused.restoreOptimizer({ ...state, name: "sgd" })).toBe(false);
    tfjs.dispose();
  });

  it("gradient accumulation: two half batches accumulated update the weights as the whole batch does", () => {
    const c = cases[2]!;
    const start = initParams(modelParamSpecs(c.ir, c.env), 4);
    const rng = mulberry32(3);
    const x = alloc([4, 3, 3], "f32");
    for (let i = 0; i < x.data.length; i++) x.data[i] = rng() - 0.5;
    const targets = Array.from({ length: 4 }, () => Array.from({ length: 3 }, () => [rng(), rng()]));
    const part = (from: number, to: number): Batch => {
      const t = alloc([to - from, 3, 3], "f32");
      t.data.set(x.data.subarray(from * 9, to * 9));
      return { inputs: { x: t }, targets: targets.slice(from, to) };
    };
    const settings = { ...c.settings, optimizer: "adam" as const, learningRate: 0.05, clipNorm: 0.3 };
    const one = new FusedTrainer(c.ir, c.env, start, settings), two = new FusedTrainer(c.ir, c.env, start, settings);
    one.step(part(0, 4));
    two.accumulate(part(0, 2));
    two.accumulate(part(2, 4));
    two.apply();
    for (const [name, w] of one.params()) expect(closeness(two.params().get(name)!.data, w.data, 1e-5, 1e-6), name).toBeLessThanOrEqual(1);
  });

  it("says why it cannot take a model: a trained output that is generated, or an op mixing a sequence with a single value", () => {
    const ir = modelFrom(`import { GRU, Dense } from "std"
      model M<C = 2, H = 4> { input c: [C]  input x: [T, 2]  layer a = GRU<2, H>  layer begin = Dense<C, H>  layer head = Dense<H, 1>
        output y = map(head, scan(a, x) + begin(c))  output z = map(head, scan(a, x) * 2) }`);
    expect(fusedTrainingUnsupported(ir, "y")).toMatch(/mixes a sequence with a single value/);
    expect(fusedTrainingUnsupported(ir, "z")).toBeUndefined(); // only what the trained output reads counts
  });
});
