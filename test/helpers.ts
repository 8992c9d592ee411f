// Shared test helpers: the compiler over the real file system, stdlib cells, closeness checks.
import { join } from "node:path";
import { createCompiler } from "../src/compiler.js";
import { nodeHost, packageRoot } from "../src/node/host.js";
import type { OptionValue } from "../src/elaborate/scope.js";
import type { CellIR } from "../src/ir/ir.js";

export const root = packageRoot;
export const compiler = createCompiler(nodeHost);

export function stdlibCell(file: string, name: string, overrides: Record<string, OptionValue> = {}): CellIR {
  return compiler.cell(join(root, "stdlib", file), name, new Map(Object.entries(overrides)));
}

/** Largest violation of |a - b| <= atol + rtol * |b|, as a ratio (≤ 1 means close). */
export function closeness(a: ArrayLike<number>, b: ArrayLike<number>, rtol = 1e-5, atol = 1e-6): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (atol + rtol * Math.abs(b[i]!)));
  return worst;
}

import { readdirSync, readFileSync } from "node:fs";
import { mulberry32 } from "../src/runtime/random.js";
import { alloc, type Tensor } from "../src/runtime/tensor.js";
import { memoryHost } from "../src/resolve/host.js";
import type { ModelIR } from "../src/ir/ir.js";
import { FusedTrainer } from "../src/fused/train-model.js";
import { runModel } from "../src/interp/run-model.js";
import { Trainer } from "../src/tfjs/train.js";
import type { Batch, LossName } from "../src/runtime/training.js";

const stdlibSources = new Map(readdirSync(join(root, "stdlib")).map((f) => [`std/${f}`, readFileSync(join(root, "stdlib", f), "utf8")]));

/** Compiles `text` (which may import from "std") in memory and returns its model `name`. */
export function modelFrom(text: string, name?: string): ModelIR {
  return createCompiler(memoryHost(new Map([["m.rnn", text], ...stdlibSources]), [...stdlibSources.keys()])).model("m.rnn", name);
}

/** Compiles `text` in memory and returns its cell `name`. */
export function cellFrom(text: string, name?: string): CellIR {
  return createCompiler(memoryHost(new Map([["m.rnn", text], ...stdlibSources]), [...stdlibSources.keys()])).cell("m.rnn", name);
}

/** Every .rnn file below `dir` (relative to the repository), recursively. */
export function rnnFiles(dir: string): string[] {
  const abs = join(root, dir);
  return readdirSync(abs, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".rnn")).sort().map((f) => join(abs, f));
}

/** Every model of the examples that checks without errors, labelled `Name (folder/file.rnn)`. */
export function exampleModels(skip: readonly (keyof typeof repeats)[] = []): [string, ModelIR][] {
  const out: [string, ModelIR][] = [];
  for (const file of rnnFiles("examples")) {
    const r = compiler.check(file);
    if (r.diagnostics.some((d) => d.severity === "error")) continue;
    for (const d of r.parsed?.module.decls ?? []) {
      if (d.kind === "model" && !(skip as readonly string[]).includes(d.name.text)) out.push([`${d.name.text} (${file.split("/examples/")[1]})`, compiler.model(file, d.name.text)]);
    }
  }
  return out;
}

/**
 * Example models that repeat others: a test that costs seconds a model (finite differences, training steps, a browser)
 * may leave them out. The compile, ONNX and PyTorch tests take every one.
 */
export const repeats = {
  G2PBiAttention: "G2PAttention's decoder over a bidirectional encoder, which G2PBiDrop has too (with dropout)",
  G2PBi2Drop: "G2PBiDrop with a second bidirectional layer over the first: stacking is checked in the topology tests",
  G2PBi2Wide: "G2PBi2Drop wider, with other dropout rates: the same layers and constructs",
  G2PEnsemble: "four g2p models joined for decoding: their layers are each checked in their own models, and it is not trained",
} as const;

/** A float32 tensor of uniform values in [-scale, scale), deterministic in `seed`. */
export function randomTensor(shape: number[], seed: number, scale = 1): Tensor {
  const rng = mulberry32(seed);
  const t = alloc(shape, "f32");
  for (let i = 0; i < t.data.length; i++) t.data[i] = scale * (2 * rng() - 1);
  return t;
}

/** W @ v for a row-major matrix tensor and a plain vector: for the written-out reference loops. */
export function matVec(W: Tensor, v: readonly number[]): number[] {
  return Array.from({ length: W.shape[0]! }, (_, i) => v.reduce((s, x, j) => s + W.data[i * W.shape[1]! + j]! * x, 0));
}

/**
 * The mean cross-entropy of a model output of class scores against each example's target ids, over every real step,
 * in float64 on the interpreter (the loss `rnnc train --loss crossentropy` takes): `lossAt` for the check below.
 */
export function crossEntropyAt(ir: ModelIR, env: ReadonlyMap<string, number>, batch: Batch, targets: readonly (readonly number[])[], output: string) {
  return (p: Map<string, Tensor>): number => {
    const out = runModel(ir, env, p, batch, "f64")[output]!.tensor!;
    const [, T, V] = out.shape as [number, number, number];
    let sum = 0, n = 0;
    targets.forEach((ys, b) => ys.forEach((y, t) => {
      const row = Array.from(out.data.subarray((b * T + t) * V, (b * T + t + 1) * V));
      const max = Math.max(...row);
      sum += Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0)) + max - row[y]!;
      n++;
    }));
    return sum / n;
  };
}

/**
 * The gradient of one SGD step at learning rate 1 on an engine (the weights move by exactly minus it) against
 * central differences of `lossAt` (the same loss in float64, of the params), at `perParam` seeded places of every
 * param: how many were checked, and the first mismatch beyond tolerance.
 */
export function gradientVersusCentralDifferences(ir: ModelIR, env: ReadonlyMap<string, number>, params: ReadonlyMap<string, Tensor>, settings: { output: string; loss: LossName }, batch: Batch, lossAt: (p: Map<string, Tensor>) => number, perParam: number, seed: number, engine: "fused" | "tfjs" = "fused"): { checked: number; worst: string | undefined } {
  const sgd = { ...settings, optimizer: "sgd" as const, learningRate: 1 };
  const trainer = engine === "fused" ? new FusedTrainer(ir, env, params, sgd) : new Trainer(ir, env, params, sgd);
  trainer.step(batch);
  const after = trainer.params();
  trainer.dispose();
  const rng = mulberry32(seed);
  let checked = 0, worst: string | undefined;
  for (const [name, t] of params) for (let k = 0; k < perParam; k++) {
    const i = Math.floor(rng() * t.data.length);
    const h = 1e-5;
    const up = new Map(params), down = new Map(params);
    const tu = { shape: t.shape, data: Float64Array.from(t.data) }, td = { shape: t.shape, data: Float64Array.from(t.data) };
    tu.data[i] += h; td.data[i] -= h;
    up.set(name, tu); down.set(name, td);
    const numeric = (lossAt(up) - lossAt(down)) / (2 * h);
    const engine = Math.fround(t.data[i]!) - after.get(name)!.data[i]!;
    if (!(Math.abs(numeric - engine) < 1e-3 * Math.max(1e-2, Math.abs(numeric)) + 2e-6)) worst ??= `${name}[${i}]: ${engine} by the engine, ${numeric} by central differences`;
    checked++;
  }
  return { checked, worst };
}
