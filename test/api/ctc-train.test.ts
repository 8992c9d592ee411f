// Training with --loss ctc (issue 25): both engines take the same steps, a model learns an unaligned task, and a
// target that cannot be aligned or holds the blank is refused before the first step.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fit } from "../../src/api/fit.js";
import { modelFromSource } from "../../src/api/model.js";
import { FusedTrainer } from "../../src/fused/train-model.js";
import { Trainer } from "../../src/tfjs/train.js";
import { useBackend } from "../../src/tfjs/backend.js";
import { batchOf, type Example } from "../../src/api/data.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { initParams, modelParamSpecs } from "../../src/weights/weights.js";
import { closeness, root, gradientVersusCentralDifferences } from "../helpers.js";
import { runModel } from "../../src/interp/run-model.js";
import { ctcLoss } from "../../src/runtime/ctc.js";
import type { Tensor } from "../../src/runtime/tensor.js";

/** An LSTM scoring 4 classes (the blank and labels 1 … 3) at every frame. */
const source = `import { LSTM, Dense } from "std"
model Frames<F = 4, H = 16, C = 4> {
  input frames: [T, F]
  layer rnn = LSTM<F, H>
  layer head = Dense<H, C>
  output scores = map(head, scan(rnn, frames))
}
`;
const model = modelFromSource(source);

/** Labels 1 … 3, each shown for 2 or 3 frames (a noisy one-hot of its id), sometimes with silence (class 0's frame) between: the frames are not aligned to the labels. */
function example(seed: number): Example {
  const rng = mulberry32(seed);
  const labels = Array.from({ length: 1 + Math.floor(rng() * 4) }, () => 1 + Math.floor(rng() * 3));
  const frames: number[][] = [];
  const frame = (k: number) => Array.from({ length: 4 }, (_, i) => (i === k ? 1 : 0) + 0.2 * (rng() - 0.5));
  for (const l of labels) {
    if (rng() < 0.5 || (frames.length && frames.at(-1)![l]! > 0.5)) frames.push(frame(0)); // equal neighbours need a gap
    for (let k = 0, n = 2 + Math.floor(rng() * 2); k < n; k++) frames.push(frame(l));
  }
  return { inputs: { frames }, target: labels };
}
const train = Array.from({ length: 96 }, (_, k) => example(k + 1));
const validation = Array.from({ length: 24 }, (_, k) => example(1000 + k));

describe("rnnc train --loss ctc", () => {
  it("the fused engine and TensorFlow.js take the same steps (losses and weights)", async () => {
    await useBackend("tfjs-cpu");
    const params = initParams(modelParamSpecs(model.ir, model.env), 3);
    const settings = { output: "scores", loss: "ctc" as const, optimizer: "adam" as const, learningRate: 0.01, blank: 0 };
    const fused = new FusedTrainer(model.ir, model.env, params, settings);
    const tfjs = new Trainer(model.ir, model.env, params, settings);
    for (let k = 0; k < 4; k++) {
      const batch = batchOf(model.ir, train.slice(k * 16, (k + 1) * 16));
      const a = fused.step(batch), b = tfjs.step(batch);
      expect(Math.abs(a - b) / Math.abs(b)).toBeLessThan(1e-5);
    }
    const [wa, wb] = [fused.params(), tfjs.params()];
    for (const [name, t] of wa) expect({ name, err: closeness(t.data, wb.get(name)!.data, 1e-4, 1e-5) }).toEqual({ name, err: expect.closeTo(0, 0) });
    const e = fused.evaluate(batchOf(model.ir, validation));
    expect(e.metricName).toBe("error-rate");
    fused.dispose();
    tfjs.dispose();
  });

  it("its gradient through the model equals central differences of the float64 interpreter's loss", () => {
    const params = initParams(modelParamSpecs(model.ir, model.env), 5, "f64");
    const examples = train.slice(0, 6);
    const batch = batchOf(model.ir, examples);
    const labels = examples.map((e) => e.target as number[]);
    /** The CTC loss of the batch with these weights, computed by the interpreter in float64. */
    const lossAt = (p: Map<string, Tensor>): number => {
      const out = runModel(model.ir, model.env, p, { inputs: batch.inputs, lengths: batch.lengths }, "f64")["scores"]!;
      const [B, T, C] = out.tensor!.shape as [number, number, number];
      const y = new Float64Array(T * B * C);
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) y[(t * B + b) * C + c] = out.tensor!.data[(b * T + t) * C + c]!;
      return ctcLoss({ y, T, B, C, lengths: out.lengths! }, labels, 0, false, false).loss;
    };
    const r = gradientVersusCentralDifferences(model.ir, model.env, params, { output: "scores", loss: "ctc" }, batch, lossAt, 3, 8);
    expect(r.worst).toBeUndefined();
    expect(r.checked).toBe(3 * params.size);
  });

  it("learns the unaligned task: the validation label error rate falls below 10%", async () => {
    const r = await fit(model, { train, validation }, { output: "scores", loss: "ctc", epochs: 30, batchSize: 16, learningRate: 0.02, seed: 1, metrics: ["exact"], note: () => {} });
    const errors = r.state.history.metric;
    // --metrics on a CTC output scores its decoded labels, as rnnc eval --ctc does.
    expect(Math.max(...r.state.history.metrics!["exact"]!)).toBeGreaterThan(0.9);
    expect(errors[0]).toBeGreaterThan(0.5);
    expect(Math.min(...errors)).toBeLessThan(0.1);
    expect(r.state.history.metricName).toBe("error-rate");
  });

  it("refuses the blank among the labels, a target too long to align, and a blank outside the classes", async () => {
    const err = async (data: { train: Example[]; validation: Example[] }, blank?: number) => {
      try { await fit(model, data, { output: "scores", loss: "ctc", epochs: 1, ...(blank !== undefined ? { blank } : {}), note: () => {} }); } catch (e) { return (e as Error).message; }
      return "none";
    };
    expect(await err({ train: [{ inputs: { frames: [[1, 0, 0, 0], [0, 1, 0, 0]] }, target: [1, 0] }, ...train], validation })).toBe("example 0 of the training split has a target whose label 1 is 0, the blank");
    expect(await err({ train, validation: [{ inputs: { frames: [[1, 0, 0, 0], [0, 1, 0, 0]] }, target: [2, 2] }] })).toBe("example 0 of the validation split has a target of 2 labels, which needs at least 3 steps, and input \"frames\" has 2");
    expect(await err({ train, validation }, 4)).toBe("--blank must be a class id of output 'scores', 0 … 3, not 4".replace("--blank", "blank"));
    expect(await err({ train: [{ inputs: { frames: [[1, 0, 0, 0]] }, target: [7] }, ...train], validation })).toContain("has a target whose label 0 is the class 7, outside 0 … 3");
  });
});

describe("the CLI with CTC", () => {
  const dir = mkdtempSync(join(tmpdir(), "rnnc-ctc-"));
  const cli = (...args: string[]) => spawnSync(process.execPath, [join(root, "dist", "cli", "main.js"), ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  const spec = join(dir, "frames.rnn"), data = join(dir, "frames.mjs");
  writeFileSync(spec, source);
  writeFileSync(data, `const all = ${JSON.stringify([...train, ...validation, ...Array.from({ length: 24 }, (_, k) => example(2000 + k))])};
export function load() { return { train: all.slice(0, 96), validation: all.slice(96, 120), test: all.slice(120) }; }
`);

  it("trains with --loss ctc, and eval --ctc (greedy and --beam) and run --ctc decode the labels", () => {
    const t = cli("train", spec, "--data", data, "--output", "scores", "--loss", "ctc", "--epochs", "12", "--lr", "0.02", "--batch-size", "16", "-o", join(dir, "w.json"));
    expect(t.status, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/epoch 12\/12 {2}train loss \d+\.\d+ {2}validation loss \d+\.\d+ {2}error-rate \d+\.\d+/);
    const evalWith = (...extra: string[]) => JSON.parse(cli("eval", spec, "--data", data, "--weights", join(dir, "w.json"), "--output", "scores", "--ctc", "--json", ...extra).stdout);
    const greedy = evalWith(), beam = evalWith("--beam", "4");
    expect([greedy.task, greedy.examples]).toEqual(["tokens", 24]);
    expect(greedy.metrics["error-rate"]).toBeLessThan(0.15);
    expect(beam.metrics["error-rate"]).toBeLessThan(0.15);
    const input = join(dir, "in.json");
    const two = [example(3000), example(3001)];
    const T = Math.max(...two.map((e) => (e.inputs.frames as number[][]).length));
    writeFileSync(input, JSON.stringify({ frames: two.map((e) => [...(e.inputs.frames as number[][]), ...Array.from({ length: T - (e.inputs.frames as number[][]).length }, () => [0, 0, 0, 0])]), lengths: { frames: two.map((e) => (e.inputs.frames as number[][]).length) } }));
    const r = cli("run", spec, "--weights", join(dir, "w.json"), "--input", input, "--ctc", "scores");
    expect(r.status, r.stderr).toBe(0);
    const decoded = JSON.parse(r.stdout).decoded.scores as number[][];
    expect(decoded).toHaveLength(2);
    expect(decoded.every((d) => d.every((l) => [1, 2, 3].includes(l)))).toBe(true);
    const bad = cli("eval", spec, "--data", data, "--weights", join(dir, "w.json"), "--output", "scores", "--beam", "4");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--beam searches a generated output of token ids (or, with --ctc, decodes a CTC output), and output 'scores' of model Frames is neither");
  });
});
