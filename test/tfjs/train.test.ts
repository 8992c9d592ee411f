// Training on tfjs: the loss falls on a learnable task, no tensor leaks across steps, checkpoints resume, bad checkpoints are refused.
import * as tf from "@tensorflow/tfjs";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { useBackend } from "../../src/tfjs/backend.js";
import { Trainer, type Batch } from "../../src/tfjs/train.js";
import { alloc } from "../../src/runtime/tensor.js";
import { mulberry32 } from "../../src/runtime/random.js";
import { initParams, modelParamSpecs } from "../../src/weights/weights.js";
import { closeness, compiler, modelFrom, root } from "../helpers.js";

const compilerModel = (file: string, name: string) => compiler.model(file, name);

beforeAll(async () => { await useBackend("tfjs-cpu"); });

/** Which of two features is larger at the last step: learnable by a small LSTM in a few dozen steps. */
function task(seed: number, B = 16, T = 5): Batch {
  const rng = mulberry32(seed);
  const x = alloc([B, T, 2], "f32");
  for (let i = 0; i < x.data.length; i++) x.data[i] = 2 * rng() - 1;
  const lengths = Array.from({ length: B }, () => 2 + Math.floor(rng() * (T - 1)));
  const targets = lengths.map((l, b) => (x.data[(b * T + l - 1) * 2]! > x.data[(b * T + l - 1) * 2 + 1]! ? 1 : 0));
  return { inputs: { x }, lengths: { x: lengths }, targets };
}

const spec = `import { LSTM, Dense } from "std"
  model M<H = 8> { input x: [T, 2]  layer rnn = LSTM<2, H>  layer head = Dense<H, 2>  output logits = head(last(scan(rnn, x))) }`;

/** A training history without its wall times (which differ between two runs of the same training). */
const withoutSeconds = (h: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(h).filter(([k]) => k !== "seconds"));

describe("Trainer", () => {
  it("trains a model with an Embedding on wasm (the gather gradient): three SGD steps give the cpu backend's weights", async () => {
    const ir = modelFrom(`import { Embedding, GRU, Dense } from "std"
      model M<V = 7, E = 4, H = 5> { input ids: [T] int  layer embed = Embedding<V, E>  layer rnn = GRU<E, H>  layer head = Dense<H, 2>
        output logits = head(last(scan(rnn, map(embed, ids)))) }`);
    const env = new Map([["V", 7], ["E", 4], ["H", 5]]);
    const ids = alloc([3, 4], "f32");
    ids.data.set([1, 2, 3, 1, 6, 6, 0, 0, 5, 4, 3, 2]);
    const batch: Batch = { inputs: { ids }, lengths: { ids: [4, 2, 4] }, targets: [1, 0, 1] };
    const after: Map<string, import("../../src/runtime/tensor.js").Tensor>[] = [];
    try {
      for (const backend of ["tfjs-cpu", "tfjs-wasm"] as const) {
        await useBackend(backend);
        const t = new Trainer(ir, env, initParams(modelParamSpecs(ir, env), 3), { output: "logits", loss: "crossentropy", optimizer: "sgd", learningRate: 0.5 });
        const tensors = tf.memory().numTensors;
        for (let s = 0; s < 3; s++) t.step(batch);
        expect(tf.memory().numTensors).toBe(tensors);
        after.push(t.params());
        t.dispose();
      }
    } finally {
      await useBackend("tfjs-cpu");
    }
    const before = initParams(modelParamSpecs(ir, env), 3).get("embed.table")!;
    const [cpu, wasm] = after as [Map<string, import("../../src/runtime/tensor.js").Tensor>, Map<string, import("../../src/runtime/tensor.js").Tensor>];
    expect(Math.max(...cpu.get("embed.table")!.data.map((v, k) => Math.abs(v - before.data[k]!)))).toBeGreaterThan(1e-3); // the table did learn
    for (const [name, w] of cpu) expect({ name, err: closeness(wasm.get(name)!.data, w.data, 1e-4, 1e-5) }).toEqual({ name, err: expect.closeTo(0, 0) });
  });

  it("lowers the loss, and leaks no tensor over 100 steps (the scan fused)", () => {
    const ir = modelFrom(spec);
    const env = new Map([["H", 8]]);
    const trainer = new Trainer(ir, env, initParams(modelParamSpecs(ir, env), 1), { output: "logits", loss: "crossentropy", optimizer: "adam", learningRate: 0.05, clipNorm: 5 });
    const held = task(999, 64);
    const before = trainer.evaluate(held).loss;
    trainer.step(task(0)); // optimizer slots are created on the first step
    const tensors = tf.memory().numTensors;
    for (let s = 1; s <= 100; s++) trainer.step(task(s));
    expect([...trainer.scanPaths().values()].map((p) => p.fused)).toEqual([true]);
    expect(tf.memory().numTensors).toBe(tensors);
    const after = trainer.evaluate(held);
    expect(after.loss).toBeLessThan(before * 0.7);
    expect(after.metric).toBeGreaterThan(0.75);
    trainer.dispose();
  });

  it("trains the g2p encoder–decoder on wasm for 100 steps with both scans fused and no tensor leaked", async () => {
    const ir = compilerModel(join(root, "examples/g2p/g2p.rnn"), "G2P");
    const env = new Map([["L", 28], ["P", 41], ["E", 8], ["H", 16]]);
    const rng = mulberry32(3);
    const ids = (B: number, T: number, hi: number) => { const t = alloc([B, T], "f32"); t.data.forEach((_, i) => { t.data[i] = 1 + Math.floor(rng() * (hi - 1)); }); return t; };
    const batch = (): Batch => {
      const letters = ids(8, 7, 27), prev = ids(8, 6, 40);
      const lengthsL = Array.from({ length: 8 }, () => 3 + Math.floor(rng() * 5)), lengthsP = Array.from({ length: 8 }, () => 2 + Math.floor(rng() * 5));
      const targets = Array.from({ length: 8 }, (_, b) => Array.from({ length: 6 }, (_, t) => prev.data[b * 6 + Math.min(t + 1, 5)]!));
      return { inputs: { letters, prev_phones: prev }, lengths: { letters: lengthsL, prev_phones: lengthsP }, targets };
    };
    try {
      await useBackend("tfjs-wasm");
      const t = new Trainer(ir, env, initParams(modelParamSpecs(ir, env), 1), { output: "logits", loss: "crossentropy", optimizer: "adam", learningRate: 0.01, clipNorm: 5 });
      t.step(batch());
      const tensors = tf.memory().numTensors;
      for (let s = 0; s < 100; s++) t.step(batch());
      expect(tf.memory().numTensors).toBe(tensors);
      expect([...t.scanPaths().values()].filter((p) => p.kind === "scan").map((p) => [p.layer, p.fused])).toEqual([["encoder", true], ["decoder", true]]);
      t.dispose();
    } finally {
      await useBackend("tfjs-cpu");
    }
  });

  it("weight decay (decoupled): after one SGD step each weight matrix is the plain step's times (1 − lr·wd), vectors as they were", () => {
    const ir = modelFrom(spec);
    const env = new Map([["H", 8]]);
    const start = initParams(modelParamSpecs(ir, env), 4);
    const after = (weightDecay?: number, lr = 0.1) => {
      const t = new Trainer(ir, env, start, { output: "logits", loss: "crossentropy", optimizer: "sgd", learningRate: 0.3, ...(weightDecay ? { weightDecay } : {}) });
      t.setLearningRate(lr); // the schedule's rate is the one the decay uses
      t.step(task(7));
      const p = t.params();
      t.dispose();
      return p;
    };
    const plain = after(), decayed = after(0.5);
    let matrices = 0;
    for (const [name, w] of decayed) {
      const want = plain.get(name)!.data.map((x) => (w.shape.length >= 2 ? x * (1 - 0.1 * 0.5) : x));
      expect(closeness(w.data, want, 1e-6, 1e-7), name).toBeLessThanOrEqual(1);
      if (w.shape.length >= 2) matrices++;
    }
    expect(matrices).toBeGreaterThan(0);
    // The plain step is the SGD step at the rate set: p − 0.1·g, not 0.3.
    const slow = after(undefined, 0.05), g = (name: string) => start.get(name)!.data.map((x, i) => (x - plain.get(name)!.data[i]!) / 0.1);
    for (const [name, w] of slow) expect(closeness(w.data, start.get(name)!.data.map((x, i) => x - 0.05 * g(name)[i]!), 1e-4, 1e-6), name).toBeLessThanOrEqual(1);
  });

  it("gradient accumulation: two batches of 8 accumulated update the weights as one batch of 16 does, and leak nothing", () => {
    const ir = modelFrom(spec);
    const env = new Map([["H", 8]]);
    const start = initParams(modelParamSpecs(ir, env), 6);
    // Examples of one length, so that the mean over 16 is the mean of the two means over 8.
    const whole = task(31, 16, 4);
    const fixed = { ...whole, lengths: { x: whole.lengths!["x"]!.map(() => 4) } };
    const half = (h: number): Batch => {
      const x = alloc([8, 4, 2], "f32");
      x.data.set(fixed.inputs["x"]!.data.subarray(h * 64, (h + 1) * 64));
      return { inputs: { x }, lengths: { x: Array(8).fill(4) }, targets: fixed.targets.slice(h * 8, (h + 1) * 8) };
    };
    const opts = { output: "logits", loss: "crossentropy" as const, optimizer: "adam" as const, learningRate: 0.05, clipNorm: 0.5 };
    const one = new Trainer(ir, env, start, opts);
    one.step(fixed);
    const two = new Trainer(ir, env, start, opts);
    const before = tf.memory().numTensors;
    two.accumulate(half(0));
    two.accumulate(half(1));
    two.apply();
    two.accumulate(half(0)); // left waiting: dispose frees it
    for (const [name, w] of two.params()) expect(closeness(w.data, one.params().get(name)!.data, 1e-5, 1e-6), name).toBeLessThanOrEqual(1);
    one.dispose();
    two.dispose();
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
  });

  it("takes MSE on sequence outputs, masked to each sequence's length", () => {
    const ir = modelFrom(`import { GRU, Dense } from "std"
      model M<H = 6> { input x: [T, 1]  layer rnn = GRU<1, H>  layer head = Dense<H, 1>  output y = map(head, scan(rnn, x)) }`);
    const env = new Map([["H", 6]]);
    const t = new Trainer(ir, env, initParams(modelParamSpecs(ir, env), 2), { output: "y", loss: "mse", optimizer: "adam", learningRate: 0.02 });
    const x = alloc([2, 3, 1], "f32");
    x.data.set([0.1, 0.2, 0.3, 0.5, 0.6, 0]);
    // Padded steps carry absurd targets; masked, they must not count.
    const batch = (pad: number): Batch => ({ inputs: { x }, lengths: { x: [3, 2] }, targets: [[[0.2], [0.3], [0.4]], [[0.6], [0.7], [pad]]] });
    expect(t.evaluate(batch(1000)).loss).toBeCloseTo(t.evaluate(batch(0)).loss, 6);
    const first = t.evaluate(batch(0)).loss;
    for (let s = 0; s < 40; s++) t.step(batch(0));
    expect(t.evaluate(batch(0)).loss).toBeLessThan(first / 4);
    t.dispose();
  });

  it("MSE's gradient (written out, not tfjs' own) equals central differences of the loss, padded steps left out", () => {
    const ir = modelFrom(`import { GRU, Dense } from "std"
      model M<H = 3> { input x: [T, 2]  layer rnn = GRU<2, H>  layer head = Dense<H, 2>  output y = map(head, scan(rnn, x)) }`);
    const env = new Map([["H", 3]]);
    const params = initParams(modelParamSpecs(ir, env), 7);
    const x = alloc([2, 3, 2], "f32");
    x.data.set([0.1, -0.2, 0.3, 0.5, -0.6, 0.2, 0.4, 0.1, -0.3, 0.2, 0.9, -0.9]);
    const batch: Batch = { inputs: { x }, lengths: { x: [3, 2] }, targets: [[[0.2, 0.1], [0.3, -0.4], [0.4, 0.5]], [[0.6, 0.2], [0.7, -0.1], [500, 500]]] };
    const lr = 0.5;
    const t = new Trainer(ir, env, params, { output: "y", loss: "mse", optimizer: "sgd", learningRate: lr });
    t.step(batch);
    const after = t.params();
    t.dispose();
    const lossWith = (name: string, i: number, d: number) => {
      const p = new Map([...params].map(([k, v]) => [k, { shape: v.shape, data: Float32Array.from(v.data) }]));
      p.get(name)!.data[i]! += d;
      const u = new Trainer(ir, env, p, { output: "y", loss: "mse", optimizer: "sgd", learningRate: lr });
      const l = u.evaluate(batch).loss;
      u.dispose();
      return l;
    };
    let checked = 0;
    for (const name of ["head.W", "head.b", "rnn.W_hn"]) {
      const before = params.get(name)!;
      expect(before, name).toBeDefined();
      for (const i of [0, before.data.length - 1]) {
        const gradient = (before.data[i]! - after.get(name)!.data[i]!) / lr; // SGD: w − lr·g
        const eps = 1e-2;
        const numeric = (lossWith(name, i, eps) - lossWith(name, i, -eps)) / (2 * eps);
        expect(Math.abs(gradient - numeric), `${name}[${i}]: ${gradient} vs ${numeric}`).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
        checked++;
      }
    }
    expect(checked).toBe(6);
  });
});

describe("rnnc train", () => {
  const cli = join(root, "dist", "cli", "main.js");
  const tmp = mkdtempSync(join(tmpdir(), "rnnc-train-"));
  const base = ["train", "examples/adding/adding.rnn", "--model", "AddingLSTM", "--data", join(tmp, "data.mjs"), "--output", "sum", "--loss", "mse", "--batch-size", "8", "--dims", "H=4"];
  writeFileSync(join(tmp, "data.mjs"), `import { generate } from ${JSON.stringify(join(root, "examples/adding/data.mjs"))};
export function load() { return { train: generate(48, 12, 1), test: generate(8, 12, 2) }; }\n`);
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8" });

  it("trains with per-epoch lines, writes weights, a loss curve, and resumes", () => {
    const out = join(tmp, "w.json");
    const r = run(...base, "--epochs", "2", "-o", out);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/epoch 1\/2 {2}train loss \d+\.\d+ {2}test loss \d+\.\d+ {2}rmse \d+\.\d+/);
    expect(r.stderr).toMatch(/epoch 2\/2/);
    const w = JSON.parse(readFileSync(out, "utf8"));
    expect(w.training.epoch).toBe(2);
    expect(w.training.history.train).toHaveLength(2);
    expect(readFileSync(out.replace(/\.json$/, ".loss.svg"), "utf8")).toMatch(/^<svg[\s\S]*polyline[\s\S]*<\/svg>\n$/);
    const again = run(...base, "--epochs", "3", "-o", out, "--resume");
    expect(again.stderr).toMatch(/resuming from .* after epoch 2/);
    expect(again.stderr).not.toMatch(/epoch [12]\/3/);
    expect(again.stderr).toMatch(/epoch 3\/3/);
    expect(JSON.parse(readFileSync(out, "utf8")).training.history.train).toHaveLength(3);
  });

  it("--explain says how each scan runs; fused and --no-fused train to the same weights", () => {
    const fused = join(tmp, "fused.json"), plain = join(tmp, "plain.json");
    const a = run(...base, "--epochs", "1", "-o", fused, "--explain");
    expect(a.status).toBe(0);
    expect(a.stderr).toMatch(/scan of layer `rnn`: fused \(/);
    expect(a.stderr).toMatch(/optimizer: Adam in WebAssembly SIMD/);
    const b = run(...base, "--epochs", "1", "-o", plain, "--explain", "--no-fused");
    expect(b.status).toBe(0);
    expect(b.stderr).toMatch(/scan of layer `rnn`: op by op \(fused kernels are off\)/);
    const [wa, wb] = [fused, plain].map((f) => JSON.parse(readFileSync(f, "utf8")).params as Record<string, { data: number[] }>);
    for (const k of Object.keys(wb!)) expect({ k, err: closeness(wa![k]!.data, wb![k]!.data, 1e-3, 1e-4) }).toEqual({ k, err: expect.closeTo(0, 0) });
  });

  it("resuming continues exactly: 1 + 1 epochs give the weights of 2 epochs in one run", () => {
    const straight = join(tmp, "straight.json");
    const resumed = join(tmp, "resumed.json");
    expect(run(...base, "--epochs", "2", "-o", straight).status).toBe(0);
    expect(run(...base, "--epochs", "1", "-o", resumed).status).toBe(0);
    expect(JSON.parse(readFileSync(resumed, "utf8")).training.optimizer.name).toBe("adam");
    expect(run(...base, "--epochs", "2", "-o", resumed, "--resume").status).toBe(0);
    const a = JSON.parse(readFileSync(straight, "utf8"));
    const b = JSON.parse(readFileSync(resumed, "utf8"));
    expect(b.params).toEqual(a.params);
    expect(withoutSeconds(b.training.history)).toEqual(withoutSeconds(a.training.history));
  });

  it("with a schedule, warm-up, weight decay, early stopping and keep-best: resuming continues exactly, and the log and best epoch agree", () => {
    const opts = ["--schedule", "plateau,patience=1,factor=0.5", "--warmup", "0.5", "--weight-decay", "0.01", "--early-stop", "2", "--keep-best", "--lr", "0.05"];
    const straight = join(tmp, "sched-straight.json"), resumed = join(tmp, "sched-resumed.json");
    const a = run(...base, ...opts, "--epochs", "8", "-o", straight);
    expect(a.status, a.stderr).toBe(0);
    expect(run(...base, ...opts, "--epochs", "3", "-o", resumed).status).toBe(0);
    const b = run(...base, ...opts, "--epochs", "8", "-o", resumed, "--resume");
    expect(b.status, b.stderr).toBe(0);
    const [wa, wb] = [straight, resumed].map((f) => JSON.parse(readFileSync(f, "utf8")));
    expect(wb.params).toEqual(wa.params);
    expect(withoutSeconds(wb.training.history)).toEqual(withoutSeconds(wa.training.history));
    // Each epoch's seconds survive the resume: in the checkpoint and in the CSV, every row timed.
    expect(wb.training.history.seconds).toHaveLength(wb.training.epoch);
    expect(wb.training.history.seconds.every((x: number) => x > 0)).toBe(true);
    const resumedRows = readFileSync(resumed.replace(/\.json$/, ".log.csv"), "utf8").trim().split("\n").slice(1);
    expect(resumedRows.map((r) => Number(r.split(",").at(-1)))).toEqual(wb.training.history.seconds.map((x: number) => Number(x.toFixed(2))));
    const h = wa.training.history as { test: number[]; lr: number[] };
    // Stopped early exactly when two epochs passed after the best, or ran all 8.
    const best = h.test.indexOf(Math.min(...h.test));
    expect(h.test.length === 8 || h.test.length - 1 - best === 2).toBe(true);
    // Early stopping, the plateau and keep-best select on validation: the data has none, so a tenth of train is held out.
    expect(a.stderr).toContain("note: the last 5 of 48 training examples are the validation split (--early-stop, --schedule plateau, --keep-best select on a validation split and the data has none; --validation-split F chooses how much)");
    expect(wa.training.history.heldOut).toBe("validation");
    if (h.test.length < 8) expect(a.stderr).toContain(`stopping early: the validation loss has not improved by more than 0 for 2 epochs; the best was epoch ${best + 1}`);
    // The best epoch's checkpoint, and one CSV row per epoch with its learning rate.
    const kept = JSON.parse(readFileSync(straight.replace(/\.json$/, ".best.json"), "utf8"));
    expect(kept.training.epoch).toBe(best + 1);
    expect(kept.training.history.test.at(-1)).toBe(h.test[best]);
    const rows = readFileSync(straight.replace(/\.json$/, ".log.csv"), "utf8").trim().split("\n");
    expect(rows[0]).toBe("epoch,lr,train_loss,validation_loss,rmse,seconds");
    expect(rows.slice(1).map((r) => Number(r.split(",")[1]))).toEqual(h.lr);
    expect(h.lr[0]).toBeCloseTo(0.05, 12); // warm-up done within epoch 1
  });

  it("--metrics scores the validation split after every epoch as rnnc eval --split validation does; --monitor picks what keep-best and early stopping watch", () => {
    const out = join(tmp, "metrics.json");
    const r = run(...base, "--epochs", "4", "--lr", "0.02", "--metrics", "mae,sum:mse", "--monitor", "mae", "--keep-best", "-o", out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/epoch 1\/4 {2}train loss \d+\.\d+ {2}validation loss \d+\.\d+ {2}rmse \d+\.\d+ {2}mae \d+\.\d+ {2}mse \d+\.\d+/);
    const h = JSON.parse(readFileSync(out, "utf8")).training.history as { metrics: Record<string, number[]>; metric: number[] };
    expect(Object.keys(h.metrics)).toEqual(["mae", "mse"]);
    // The last epoch's numbers are rnnc eval's on the checkpoint.
    const e = run("eval", "examples/adding/adding.rnn", "--model", "AddingLSTM", "--dims", "H=4", "--data", join(tmp, "data.mjs"), "--weights", out, "--output", "sum", "--metrics", "mae,mse,rmse", "--json", "--split", "validation", "--validation-split", "0.1");
    expect(e.status, e.stderr).toBe(0);
    const ev = JSON.parse(e.stdout).metrics;
    expect(ev.mae).toBeCloseTo(h.metrics["mae"]!.at(-1)!, 5);
    expect(ev.mse).toBeCloseTo(h.metrics["mse"]!.at(-1)!, 5);
    const best = JSON.parse(readFileSync(out.replace(/\.json$/, ".best.json"), "utf8")).training.epoch;
    expect(best).toBe(h.metrics["mae"]!.indexOf(Math.min(...h.metrics["mae"]!)) + 1);
    const bad = run(...base, "--epochs", "1", "--metrics", "accuracy", "-o", join(tmp, "bad.json"));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("compared as values, whose metrics are rmse, mae, mse");
  });

  it("refuses a corrupt checkpoint on resume, leaving it as it was", () => {
    const out = join(tmp, "bad.json");
    writeFileSync(out, '{"format": "rnnc-weights", "version": 1, "params": {"rnn.W_xi": {"shape": [2], "data": [1, 2]}}}');
    const r = run(...base, "--epochs", "1", "-o", out, "--resume");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error\[RNN060[13]\]/);
    expect(readFileSync(out, "utf8")).toContain('"data": [1, 2]');
  });

  it("Ctrl-C stops training and keeps the last checkpoint intact", async () => {
    const out = join(tmp, "sigint.json");
    const child = spawn(process.execPath, [cli, ...base, "--epochs", "100000", "-o", out], { cwd: root });
    let stderr = "";
    child.stderr.on("data", (d) => { stderr += String(d); });
    const exited = new Promise<number | null>((done) => child.on("exit", done));
    await new Promise<void>((done) => {
      const poll = setInterval(() => { if (/epoch 2\/100000/.test(stderr)) { clearInterval(poll); child.kill("SIGINT"); done(); } }, 20);
    });
    const code = await exited;
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted: the checkpoint of epoch \d+ .* is intact/);
    expect(existsSync(out)).toBe(true);
    const w = JSON.parse(readFileSync(out, "utf8"));
    expect(w.training.epoch).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it("rejects bad flags in one line", () => {
    const r = run(...base, "--epochs", "0", "-o", join(tmp, "x.json"));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^rnnc: --epochs must be a whole number ≥ 1, not 0\n/);
    const t = run(...base, "--threads", "3", "-o", join(tmp, "x.json"));
    expect(t.status).toBe(2);
    expect(t.stderr).toMatch(/threads/);
    expect(t.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("a model with attention trains on the fused engine, and --explain says so for its decoder (one thread)", () => {
    const r = run("train", "examples/g2p/g2p-attention.rnn", "--data", "examples/g2p/data.mjs", "--output", "logits", "--loss", "crossentropy",
      "--dims", "H=8,A=4,E=4", "--limit", "40", "--epochs", "1", "--explain", "-o", join(tmp, "att.json"));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^backend: fused \(auto: the whole model trains on the fused kernels/m);
    expect(r.stderr).toMatch(/scan of layer `decoder`: fused \([^\n]*it reads a sequence whole \(attention\)[^\n]*on one thread\)\n/);
    expect(r.stderr).not.toMatch(/scan of layer `decoder`[^\n]*split over/);
  });

  it("--explain says when batches are split over two threads, and --threads 1 keeps to one", () => {
    const two = run(...base, "--epochs", "1", "-o", join(tmp, "t2.json"), "--explain");
    expect(two.status).toBe(0);
    if (availableParallelism() > 1) expect(two.stderr).toMatch(/split over 2 threads/);
    const one = run(...base, "--epochs", "1", "-o", join(tmp, "t1.json"), "--explain", "--threads", "1");
    expect(one.status).toBe(0);
    expect(one.stderr).toMatch(/scan of layer `rnn`: fused \(/);
    expect(one.stderr).not.toMatch(/threads/);
  });
});
