// Dropout (issue 25): `dropout(x, p)` is x when running; in training each site is a product with a seeded mask input,
// the same on both engines, with the gradient of the float64 interpreter's loss under those masks.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { batchOf, type Example } from "../../src/api/data.js";
import { fit } from "../../src/api/fit.js";
import { modelFromSource } from "../../src/api/model.js";
import { createCompiler } from "../../src/compiler.js";
import { compileModule } from "../../src/emit/compile.js";
import { memoryHost } from "../../src/resolve/host.js";
import { FusedTrainer } from "../../src/fused/train-model.js";
import { runModel } from "../../src/interp/run-model.js";
import { Op } from "../../src/ir/ops.js";
import { printModelIR } from "../../src/ir/print.js";
import { DropoutEngine } from "../../src/runtime/dropout-engine.js";
import { dropoutTraining, withMasks } from "../../src/runtime/dropout.js";
import { mulberry32 } from "../../src/runtime/random.js";
import type { Tensor } from "../../src/runtime/tensor.js";
import { useBackend } from "../../src/tfjs/backend.js";
import { Trainer } from "../../src/tfjs/train.js";
import { initParams, modelParamSpecs } from "../../src/weights/weights.js";
import { closeness, root, gradientVersusCentralDifferences } from "../helpers.js";

/** Every stdlib cell with its dropout options, and dropout between layers: a forecaster at every step. */
const source = (opts: string, between: string) => `import { LSTM, GRU, Elman, Dense } from "std"
model M<I = 3, H = 6> {
  input x: [T, I]
  layer a = LSTM<I, H>${opts ? `(${opts})` : ""}
  layer b = GRU<H, H>${opts ? `(${opts})` : ""}
  layer c = Elman<H, H>${opts ? `(${opts})` : ""}
  layer head = Dense<H, 1>
  output y = map(head, scan(c, ${between ? `dropout(scan(b, scan(a, x)), ${between})` : "scan(b, scan(a, x))"}))
}
`;
const dropped = modelFromSource(source("dropout = 0.3, recurrent_dropout = 0.2", "0.25"));
const plain = modelFromSource(source("", ""));

/** Sequences of 2 to 7 steps; the target is a running sum of the first input. */
function example(seed: number): Example {
  const rng = mulberry32(seed);
  const x = Array.from({ length: 2 + Math.floor(rng() * 6) }, () => [rng() - 0.5, rng() - 0.5, rng() - 0.5]);
  let s = 0;
  return { inputs: { x }, target: x.map((v) => [(s += v[0]!)]) };
}
const examples = Array.from({ length: 48 }, (_, k) => example(k + 1));

describe("dropout(x, p)", () => {
  it("is checked when compiling: p a number in [0, 1), two arguments; at 0 it adds nothing to the IR", () => {
    const c = createCompiler(memoryHost(new Map([["d.rnn", `cell D<I, H>(p = 0.3) {
  input x: [I]
  state h: [H] = 0
  param W: [H, I] ~ glorot_uniform
  h = tanh(W @ dropout(x, 1.5) + dropout(h[t-1]) + dropout(h[t-1], x) + W @ dropout(x, -p))
  output h
}
`]]), []));
    const d = c.check("d.rnn").diagnostics.map((x) => `${x.code} ${x.message}`);
    expect(d).toEqual([
      "RNN0208 the dropout probability 1.5 is outside [0, 1)",
      "RNN0303 `dropout` takes 2 arguments (a value, and the probability p that training zeroes each element) but was given 1",
      "RNN0208 the dropout probability must be a number known when compiling",
      "RNN0208 the dropout probability -0.3 is outside [0, 1)",
    ]);
    // The stdlib cells at their default (0) are what they were: not one node more than the same model without options.
    expect(printModelIR(modelFromSource(source("dropout = 0, recurrent_dropout = 0", "0")).ir)).toBe(printModelIR(plain.ir));
    for (const l of plain.ir.layers) expect(l.ir.nodes.some((n) => n.op === Op.Dropout)).toBe(false);
    expect(dropped.ir.layers.find((l) => l.name === "a")!.ir.nodes.filter((n) => n.op === Op.Dropout).map((n) => n.attrs.rate)).toEqual([0.3, 0.2]);
  });

  it("a cell's own option passes on to its layers' options: `LSTM<E, H>(dropout = p)` is the LSTM with p's value", () => {
    const cells = (p: string) => `import { LSTM, Dense } from "std"
cell Dec<E, H>(p = 0.2) {
  input x: [E]
  layer rnn  = LSTM<E, H>(dropout = ${p}, recurrent_dropout = ${p})
  layer head = Dense<H, 3>
  output y = head(dropout(rnn(x), ${p}))
}
model M<E = 2, H = 4> { input x: [T, E]  layer d = Dec<E, H>${p === "p" ? "(p = 0.35)" : ""}  output y = scan(d, x) }
`;
    const forwarded = modelFromSource(cells("p")), literal = modelFromSource(cells("0.35"));
    expect(printModelIR(forwarded.ir).replace("(p = 0.35)", "")).toBe(printModelIR(literal.ir));
    expect(forwarded.ir.layers[0]!.ir.nodes.filter((n) => n.op === Op.Dropout).map((n) => n.attrs.rate)).toEqual([0.35, 0.35, 0.35]);
    // A name that is neither an option of the enclosing cell nor a function is still refused.
    const refused = (() => { try { modelFromSource(cells("q")); return []; } catch (e) { return (e as { diagnostics: { code: string; message: string; help?: { message: string } }[] }).diagnostics.map((x) => `${x.code} ${x.message}; ${x.help?.message}`); } })();
    // Its help names the enclosing cell's options, not a builtin one letter away (`σ`).
    expect(refused).toContain("RNN0208 the option `dropout` must be a function name or a number; give a number, a function name, or an option of the enclosing cell: `p`");
  });

  it("is the identity when running: the interpreter gives what the model without dropout gives", () => {
    const params = initParams(modelParamSpecs(plain.ir, plain.env), 4);
    const batch = batchOf(plain.ir, examples.slice(0, 5));
    const a = runModel(dropped.ir, dropped.env, params, batch)["y"]!, b = runModel(plain.ir, plain.env, params, batch)["y"]!;
    expect(Array.from(a.tensor!.data)).toEqual(Array.from(b.tensor!.data));
  });

  it("draws masks from the seed and step alone: p of them zero, the rest 1/(1-p); in a cell one per sequence, between layers one per step", () => {
    const d = dropoutTraining(dropped.ir, "y")!;
    expect(d.masks.map((m) => [m.rate, m.perStep])).toEqual([[0.3, false], [0.2, false], [0.3, false], [0.2, false], [0.25, true], [0.2, false], [0.3, false]]); // Elman reads h[t-1] first
    const batch = batchOf(dropped.ir, examples.slice(0, 32));
    const one = withMasks(batch, d, dropped.env, { seed: 7, step: 3 });
    expect(withMasks(batch, d, dropped.env, { seed: 7, step: 3 }).inputs).toEqual(one.inputs);
    const other = withMasks(batch, d, dropped.env, { seed: 7, step: 4 });
    const [B, T] = batch.inputs["x"]!.shape as [number, number];
    for (const m of d.masks) {
      const t = one.inputs[m.input]!;
      const size = t.data.length / (B * T);
      expect(t.shape.slice(0, 2)).toEqual([B, T]);
      expect(one.lengths![m.input]).toEqual(batch.lengths!["x"]);
      const zero = Array.from(t.data).filter((v) => v === 0).length / t.data.length;
      const draws = m.perStep ? B * T * size : B * size; // independent ones (a cell's repeat over the steps)
      expect(Math.abs(zero - m.rate)).toBeLessThan(4 * Math.sqrt((m.rate * (1 - m.rate)) / draws));
      expect(new Set(Array.from(t.data).filter((v) => v !== 0))).toEqual(new Set([Math.fround(1 / (1 - m.rate))]));
      expect(Array.from(t.data)).not.toEqual(Array.from(other.inputs[m.input]!.data));
      // Step 0 against step 1 of each example: equal in a cell's masks (variational), not between layers.
      let same = true;
      for (let b = 0; b < B; b++) for (let i = 0; i < size; i++) same &&= t.data[(b * T) * size + i] === t.data[(b * T + 1) * size + i];
      expect(same).toBe(!m.perStep);
    }
    // With masks of ones, the training form computes exactly what the model does.
    const params = initParams(modelParamSpecs(plain.ir, plain.env), 4);
    const ones = withMasks(batch, d, dropped.env, "ones");
    expect(Array.from(runModel(d.ir, dropped.env, params, ones)["y"]!.tensor!.data)).toEqual(Array.from(runModel(plain.ir, plain.env, params, batch)["y"]!.tensor!.data));
  });

  it("trains the same on the fused engine and on TensorFlow.js (the same masks): losses and weights", async () => {
    await useBackend("tfjs-cpu");
    const d = dropoutTraining(dropped.ir, "y")!;
    const params = initParams(modelParamSpecs(dropped.ir, dropped.env), 3);
    const settings = { output: "y", loss: "mse" as const, optimizer: "adam" as const, learningRate: 0.01 };
    const fused = new DropoutEngine(new FusedTrainer(d.ir, dropped.env, params, settings), d, dropped.env, 11);
    const tfjs = new DropoutEngine(new Trainer(d.ir, dropped.env, params, settings), d, dropped.env, 11);
    const plainFused = new FusedTrainer(plain.ir, plain.env, params, settings);
    for (let k = 0; k < 4; k++) {
      const batch = batchOf(dropped.ir, examples.slice(k * 12, (k + 1) * 12));
      const a = fused.step(batch), b = tfjs.step(batch), c = plainFused.step(batch);
      expect(Math.abs(a - b) / Math.abs(b)).toBeLessThan(1e-5);
      if (k > 0) expect(Math.abs(a - c) / c).toBeGreaterThan(1e-3); // the masks did something
    }
    const [wa, wb] = [fused.params(), tfjs.params()];
    for (const [name, t] of wa) expect({ name, err: closeness(t.data, wb.get(name)!.data, 1e-4, 1e-5) }).toEqual({ name, err: expect.closeTo(0, 0) });
    // Evaluation has dropout off: the plain model's loss with the same weights.
    const batch = batchOf(dropped.ir, examples.slice(0, 12));
    const plainEval = new FusedTrainer(plain.ir, plain.env, wa, settings);
    expect(fused.evaluate(batch).loss).toBeCloseTo(plainEval.evaluate(batch).loss, 6);
    for (const t of [fused, tfjs, plainFused, plainEval]) t.dispose();
  });

  it("its gradient under fixed masks equals central differences of the float64 interpreter's loss", () => {
    const d = dropoutTraining(dropped.ir, "y")!;
    const params = initParams(modelParamSpecs(dropped.ir, dropped.env), 5, "f64");
    const chosen = examples.slice(0, 6);
    const batch = withMasks(batchOf(dropped.ir, chosen), d, dropped.env, { seed: 3, step: 0 });
    /** The masked mean squared error, in float64: each valid step's error over the number of valid steps. */
    const lossAt = (p: Map<string, Tensor>): number => {
      const out = runModel(d.ir, dropped.env, p, batch, "f64")["y"]!;
      const T = out.tensor!.shape[1]!;
      let sum = 0, n = 0;
      chosen.forEach((e, b) => (e.target as number[][]).forEach((v, t) => { sum += (out.tensor!.data[b * T + t]! - v[0]!) ** 2; n++; }));
      return sum / n;
    };
    const r = gradientVersusCentralDifferences(d.ir, dropped.env, params, { output: "y", loss: "mse" }, batch, lossAt, 2, 8);
    expect(r.worst).toBeUndefined();
    expect(r.checked).toBe(2 * params.size);
  });

  it("fit() trains with it on (the same run twice is the same), and the held-out loss is the model's own without dropout", async () => {
    const explained: string[] = [];
    const run = () => fit(dropped, { train: examples.slice(0, 36), validation: examples.slice(36) }, { output: "y", loss: "mse", epochs: 2, batchSize: 12, learningRate: 0.01, seed: 2, note: () => {}, explain: (t) => { explained.push(t); } });
    const [r1, r2] = [await run(), await run()];
    expect(explained.join("")).toContain("dropout: 7 masks in training (p = 0.3 (a mask per sequence), 0.2 (a mask per sequence), 0.3 (a mask per sequence), 0.2 (a mask per sequence), 0.25 (a mask every step), 0.2 (a mask per sequence), 0.3 (a mask per sequence))");
    expect(r1.state.history.train).toEqual(r2.state.history.train);
    const noDropout = await fit(plain, { train: examples.slice(0, 36), validation: examples.slice(36) }, { output: "y", loss: "mse", epochs: 2, batchSize: 12, learningRate: 0.01, seed: 2, note: () => {} });
    expect(r1.state.history.train[0]).not.toBeCloseTo(noDropout.state.history.train[0]!, 4);
    const val = batchOf(plain.ir, examples.slice(36));
    const check = new FusedTrainer(plain.ir, plain.env, r1.weights, { output: "y", loss: "mse", optimizer: "adam", learningRate: 0.01 });
    expect(check.evaluate(val).loss).toBeCloseTo(r1.state.history.test.at(-1)!, 5);
    check.dispose();
  });

  it("zoneout(next, prev, p): in training each element is exactly the previous or the new value, a new draw every step", async () => {
    const z = modelFromSource(`cell Z<I, H> {
  input x: [I]
  state h: [H] = 0
  param W: [H, I] ~ glorot_uniform
  param U: [H, H] ~ orthogonal
  h = zoneout(tanh(W @ x + U @ h[t-1]), h[t-1], 0.4)
  output h
}
model M<I = 3, H = 16> {
  input x: [T, I]
  layer z = Z<I, H>
  output hs = scan(z, x)
}
`);
    const d = dropoutTraining(z.ir, "hs")!;
    expect(d.masks.map((m) => [m.rate, m.perStep])).toEqual([[0.6, true]]);
    const chosen = examples.slice(0, 16).map((e) => ({ ...e, inputs: { x: (e.inputs["x"] as number[][]).concat(e.inputs["x"] as number[][]) } }));
    const batch = withMasks(batchOf(z.ir, chosen), d, z.env, { seed: 5, step: 0 });
    const params = initParams(modelParamSpecs(z.ir, z.env), 2, "f64");
    const hs = runModel(d.ir, z.env, params, batch, "f64")["hs"]!.tensor!;
    const [B, T, H] = hs.shape as [number, number, number];
    const W = params.get("z.W")!.data, U = params.get("z.U")!.data;
    let kept = 0, n = 0, changedMask = false;
    const mask = batch.inputs[d.masks[0]!.input]!.data;
    for (let b = 0; b < B; b++) {
      const len = batch.lengths!["x"]![b]!;
      const x = batch.inputs["x"]!.data;
      let prev = new Float64Array(H);
      for (let t = 0; t < len; t++) {
        for (let i = 0; i < H; i++) {
          let a = 0;
          for (let j = 0; j < 3; j++) a += W[i * 3 + j]! * x[(b * T + t) * 3 + j]!;
          for (let j = 0; j < H; j++) a += U[i * H + j]! * prev[j]!;
          const next = Math.tanh(a), got = hs.data[(b * T + t) * H + i]!;
          const keep = mask[(b * T + t) * H + i] !== 0;
          expect(Math.abs(got - (keep ? prev[i]! : next))).toBeLessThan(1e-6);
          if (t > 0 && (mask[(b * T + t) * H + i] !== 0) !== (mask[(b * T + t - 1) * H + i] !== 0)) changedMask = true;
          kept += keep ? 1 : 0;
          n++;
        }
        prev = Float64Array.from({ length: H }, (_, i) => hs.data[(b * T + t) * H + i]!);
      }
    }
    expect(changedMask).toBe(true);
    expect(Math.abs(kept / n - 0.4)).toBeLessThan(4 * Math.sqrt(0.24 / n));
    // Both engines train it alike.
    await useBackend("tfjs-cpu");
    const settings = { output: "hs", loss: "mse" as const, optimizer: "sgd" as const, learningRate: 0.1 };
    const p32 = initParams(modelParamSpecs(z.ir, z.env), 2);
    const fused = new DropoutEngine(new FusedTrainer(d.ir, z.env, p32, settings), d, z.env, 9);
    const tfjs = new DropoutEngine(new Trainer(d.ir, z.env, p32, settings), d, z.env, 9);
    const targets = chosen.map((e) => (e.inputs["x"] as number[][]).map(() => Array(16).fill(0.1)));
    for (let k = 0; k < 3; k++) {
      const b = batchOf(z.ir, chosen.map((e, i) => ({ ...e, target: targets[i] })));
      const [l1, l2] = [fused.step(b), tfjs.step(b)];
      expect(Math.abs(l1 - l2) / l2).toBeLessThan(1e-5);
    }
    fused.dispose();
    tfjs.dispose();
  });

  it.each(["js", "tfjs"] as const)("compiles to %s as it runs: predict equals the interpreter of the model without dropout", async (target) => {
    const tf = await import("@tensorflow/tfjs");
    await tf.setBackend("cpu");
    const params = initParams(modelParamSpecs(plain.ir, plain.env), 6);
    const m = await compileModule({ ir: dropped.ir, env: dropped.env, target, weights: params, weightsGiven: true, source: "d.rnn", version: "test" });
    const dir = join(root, ".test-out", "dropout");
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `m.${target}.js`);
    writeFileSync(path, m.js);
    const model = (await import(pathToFileURL(path).href)).createModel();
    const chosen = examples.slice(0, 4);
    const batch = batchOf(plain.ir, chosen);
    const want = runModel(plain.ir, plain.env, params, batch)["y"]!.tensor!;
    const got = model.predict({ x: batch.inputs["x"] }, { lengths: batch.lengths });
    const data = target === "tfjs" ? await got.y.data() : got.y.data;
    expect(closeness(data, want.data, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
  });

  it("both engines agree on a bidirectional pair and an encoder–decoder with dropout in and between their layers", async () => {
    await useBackend("tfjs-cpu");
    const m = modelFromSource(`import { LSTM, GRU, Dense } from "std"
  model M<I = 3, H = 5> {
    input x: [T, I]
    input y: [U, I]
    layer f = LSTM<I, H>(dropout = 0.3, recurrent_dropout = 0.3)
    layer b = GRU<I, H>(recurrent_dropout = 0.4)
    layer dec = LSTM<I, H>(recurrent_dropout = 0.2)
    layer head = Dense<H, 1>
    enc = bidirectional(f, b, x, merge = sum)
    out = scan(dec, dropout(y, 0.1), init = final(scan(f, dropout(x, 0.2))))
    output z = map(head, out)
    output z2 = map(head, enc)
  }
  `);
    const d = dropoutTraining(m.ir, "z")!;
    const rng = mulberry32(3);
    const ex = Array.from({ length: 12 }, () => { const T = 2 + Math.floor(rng() * 5), U = 1 + Math.floor(rng() * 4); return { inputs: { x: Array.from({ length: T }, () => [rng(), rng(), rng()]), y: Array.from({ length: U }, () => [rng(), rng(), rng()]) }, target: Array.from({ length: U }, () => [rng()]) }; });
    const params = initParams(modelParamSpecs(m.ir, m.env), 3);
    const s = { output: "z", loss: "mse" as const, optimizer: "adam" as const, learningRate: 0.01 };
    const a = new DropoutEngine(new FusedTrainer(d.ir, m.env, params, s), d, m.env, 1);
    const b = new DropoutEngine(new Trainer(d.ir, m.env, params, s), d, m.env, 1);
    for (let k = 0; k < 3; k++) { const batch = batchOf(m.ir, ex); const [l1, l2] = [a.step(batch), b.step(batch)]; expect(Math.abs(l1 - l2) / l2).toBeLessThan(1e-5); }
    const d2 = dropoutTraining(m.ir, "z2")!;
    expect(d2.masks.length).toBe(3);
    const s2 = { ...s, output: "z2" };
    const a2 = new DropoutEngine(new FusedTrainer(d2.ir, m.env, params, s2), d2, m.env, 1);
    const b2 = new DropoutEngine(new Trainer(d2.ir, m.env, params, s2), d2, m.env, 1);
    const ex2 = ex.map((e) => ({ ...e, target: (e.inputs.x as number[][]).map(() => [0.5]) }));
    for (let k = 0; k < 3; k++) { const batch = batchOf(m.ir, ex2); const [l1, l2] = [a2.step(batch), b2.step(batch)]; expect(Math.abs(l1 - l2) / l2).toBeLessThan(1e-5); }
  });

  it("in a layer that also reads a sequence whole, masks span the stepped input's steps; dropping the whole sequence's positions inside the cell is refused", async () => {
    const spec = (drop: string) => modelFromSource(`cell Look<I, H> {
  input keys: [S, H]
  input x: [I]
  state h: [H] = 0
  param W: [H, I] ~ glorot_uniform
  param U: [H, H] ~ orthogonal
  h = tanh(W @ dropout(x, 0.3) + U @ h[t-1] + transpose(${drop}) @ softmax(keys @ h[t-1]))
  output h
}
model M<I = 3, H = 4> {
  input src: [S, H]
  input x: [T, I]
  layer look = Look<I, H>
  output hs = scan(look, src, x)
}
`);
    const m = spec("keys");
    const d = dropoutTraining(m.ir, "hs")!;
    expect(d.masks.map((k) => [k.stepsOf, k.perStep])).toEqual([["x", false]]);
    const rng = mulberry32(4);
    const ex = Array.from({ length: 5 }, () => ({ inputs: { src: Array.from({ length: 2 + Math.floor(rng() * 3) }, () => [rng(), rng(), rng(), rng()]), x: Array.from({ length: 3 + Math.floor(rng() * 4) }, () => [rng(), rng(), rng()]) }, target: [] as number[][] }));
    ex.forEach((e) => { e.target = e.inputs.x.map(() => [0.1, 0.2, 0.3, 0.4]); });
    const batch = batchOf(m.ir, ex);
    const masked = withMasks(batch, d, m.env, { seed: 1, step: 0 });
    expect(masked.inputs[d.masks[0]!.input]!.shape).toEqual([5, batch.inputs["x"]!.shape[1], 3]);
    await useBackend("tfjs-cpu");
    const trainer = new DropoutEngine(new Trainer(d.ir, m.env, initParams(modelParamSpecs(m.ir, m.env), 2), { output: "hs", loss: "mse", optimizer: "sgd", learningRate: 0.1 }), d, m.env, 1);
    expect(Number.isFinite(trainer.step(batch))).toBe(true);
    trainer.dispose();
    expect(() => dropoutTraining(spec("dropout(keys, 0.2)").ir, "hs")).toThrow("layer `look` drops out positions of `keys`, a sequence it reads whole, which training does not draw masks for yet");
  });
});

