// The playground's short training run: a model that reads a sequence of [T, 2] pairs and outputs one number learns the adding problem (Hochreiter & Schmidhuber 1997) in the page, on tfjs with rnnc's fused scan kernels.
import * as tf from "@tensorflow/tfjs";
import { evalDim } from "../ir/dims.js";
import type { ModelIR } from "../ir/ir.js";
import type { DimEnv } from "../runtime/dims.js";
import { mulberry32 } from "../runtime/random.js";
import type { Batch, ScanPath } from "../runtime/training.js";
import { Trainer } from "../tfjs/train.js";
import { initParams, modelParamSpecs } from "../weights/weights.js";

/** Why the model cannot learn the adding problem here, or undefined when it can (its first input [T, 2], an output of one number). */
export function addingProblemFor(ir: ModelIR, env: DimEnv): { input: string; output: string } | string {
  const seqs = ir.inputs.filter((i) => i.seq);
  const input = seqs.find((i) => i.dtype === "float" && i.shape.length === 1 && evalDim(i.shape[0]!, env) === 2);
  if (!input || ir.inputs.length !== 1) return "the page trains a model with one input, a sequence of [T, 2] pairs (value, marker), on the adding problem";
  const output = ir.outputs.find((o) => { const n = ir.nodes[o.node]!; return !n.seq && n.dtype === "float" && n.shape.length === 1 && evalDim(n.shape[0]!, env) === 1; });
  if (!output) return "the page trains an output of one number (the sum of the two marked values), as [1]";
  return { input: input.name, output: output.name };
}

/** A batch of the adding problem: `length` steps of [value, marker], two marked; the target is the marked values' sum. */
function addingBatch(input: string, size: number, length: number, rng: () => number): Batch {
  const data = new Float32Array(size * length * 2);
  const targets: number[][] = [];
  for (let b = 0; b < size; b++) {
    const a = Math.floor(rng() * Math.floor(length / 2)), c = Math.floor(length / 2) + Math.floor(rng() * Math.ceil(length / 2));
    for (let t = 0; t < length; t++) { data[(b * length + t) * 2] = rng(); data[(b * length + t) * 2 + 1] = t === a || t === c ? 1 : 0; }
    targets.push([data[(b * length + a) * 2]! + data[(b * length + c) * 2]!]);
  }
  return { inputs: { [input]: { shape: [size, length, 2], data } }, targets };
}

/** The losses per step, the tfjs backend, and how each scan ran (fused: one op with rnnc's own backward pass; else why not). */
export interface TrainRun { readonly losses: number[]; readonly backend: string; readonly scans: readonly ScanPath[] }

/** `steps` Adam updates on fresh batches, each step's mean squared error reported; the page stays responsive between steps. */
export async function trainAdding(ir: ModelIR, env: DimEnv, o: { steps: number; batch: number; length: number; learningRate: number; seed: number; onStep(step: number, loss: number): void; stopped?: () => boolean }): Promise<TrainRun> {
  const task = addingProblemFor(ir, env);
  if (typeof task === "string") throw new Error(task);
  if (tf.getBackend() !== "cpu") await tf.setBackend("cpu");
  await tf.ready();
  const trainer = new Trainer(ir, env, initParams(modelParamSpecs(ir, env), o.seed), { output: task.output, loss: "mse", optimizer: "adam", learningRate: o.learningRate, clipNorm: 1, lowering: { optimize: true, fused: true } });
  const rng = mulberry32(o.seed + 1);
  const losses: number[] = [];
  let scans: ScanPath[] = [];
  try {
    for (let k = 0; k < o.steps && !o.stopped?.(); k++) {
      const loss = trainer.step(addingBatch(task.input, o.batch, o.length, rng));
      losses.push(loss);
      o.onStep(k + 1, loss);
      await new Promise((r) => setTimeout(r, 0));
    }
    scans = [...trainer.scanPaths().values()];
  } finally {
    trainer.dispose();
  }
  return { losses, backend: tf.getBackend(), scans };
}
