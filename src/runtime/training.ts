// What every training engine shares: the options, a batch, the engine's interface, and how targets and outputs are read.
import type { ModelIR } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import type { Tensor } from "./tensor.js";

export type LossName = "crossentropy" | "mse" | "ctc";
export type OptimizerName = "sgd" | "momentum" | "adam" | "rmsprop";

export interface TrainSettings {
  readonly output: string;
  readonly loss: LossName;
  readonly optimizer: OptimizerName;
  readonly learningRate: number;
  /** Rescale gradients whose global norm exceeds this. */
  readonly clipNorm?: number;
  /**
   * Decoupled weight decay (AdamW's, Loshchilov & Hutter): after each update every weight matrix (params of two or
   * more axes; biases and vectors are left alone) shrinks by learning rate × this.
   */
  readonly weightDecay?: number;
  /** CTC's blank class (default 0). */
  readonly blank?: number;
}

/** The built-in metric each loss reports: accuracy, RMSE, or CTC's label error rate (greedy decoding). */
export const metricNameOf = (loss: LossName): string => (loss === "crossentropy" ? "accuracy" : loss === "mse" ? "rmse" : "error-rate");

/** Each example's CTC labels (a list of class ids; a single id is a list of one). */
export const targetLabels = (targets: readonly unknown[]): number[][] => targets.map((t) => (Array.isArray(t) ? t.map(Number) : [Number(t)]));

/** An optimizer's state in a checkpoint. */
export interface OptimizerState {
  name: string;
  /** In the optimizer's order; names are param names (or "iter"). */
  weights: { name: string; shape: number[]; data: number[] }[];
}

/** One batch: inputs as `rnnc run` takes them, per-sequence lengths, and targets (class ids, or values). */
export interface Batch {
  readonly inputs: Readonly<Record<string, Tensor>>;
  readonly lengths?: Readonly<Record<string, readonly number[]>>;
  /** Per example: a class id, a list of class ids (one per step, or CTC's labels), or numbers shaped like the output. */
  readonly targets: readonly unknown[];
}

export interface Evaluation { readonly loss: number; readonly metric: number; readonly metricName: string }

/** How one layer of the model ran in the last step (for `rnnc train --explain`). */
export interface ScanPath {
  readonly kind: "scan" | "map"; readonly layer: string; readonly fused: boolean; readonly why: string;
  /** Set when a fused scan never splits its batch between threads (it reads a sequence whole). */
  readonly oneThread?: boolean;
  /** The fused kernel's loops that ran in JS instead of WebAssembly SIMD, and why (after a run). */
  readonly loopsInJs?: () => readonly string[];
}

/** A training engine: what `rnnc train`, the bench and the tests drive, whichever computes the steps. */
export interface TrainEngine {
  /** Adds one batch's gradients to those waiting for the next update; returns its loss. */
  accumulate(batch: Batch): number;
  /** Updates the weights with the mean of the waiting gradients (clipped, then decayed weights), if there are any. */
  apply(): void;
  /** One optimizer step; returns the batch's loss before the update. */
  step(batch: Batch): number;
  /** The learning rate of the next steps (a schedule sets it before each). */
  setLearningRate(lr: number): void;
  evaluate(batch: Batch): Evaluation;
  /** The optimizer's state with param names, for a checkpoint. */
  optimizerState(): Promise<OptimizerState>;
  /** Restores a checkpoint's optimizer state; false (nothing changed) when it was another optimizer's or other params'. */
  restoreOptimizer(state: OptimizerState): Promise<boolean>;
  /** How each scan ran in the last step or evaluation, by node. */
  scanPaths(): ReadonlyMap<number, ScanPath>;
  /** How the optimizer's update runs (for --explain), where the engine says. */
  optimizerPath?(): string;
  /** The current weights, keyed `layer.param`. */
  params(): Map<string, Tensor>;
  dispose(): void;
}

/** One epoch as fit() plans it: batches of training examples (their indices), the learning rate at each batch's end, batches per update. */
export interface EpochPlan {
  readonly epoch: number;
  readonly batches: readonly (readonly number[])[];
  /** Set before the update that ends at batch k (every `accumulate` batches, and after the last). */
  readonly lrs: readonly number[];
  readonly accumulate: number;
}

/**
 * What fit() drives: whole epochs over the training split and scores of the held-out split, both given when it was
 * made. This process's engines run them batch by batch (api/local-epochs.ts); the PyTorch engine in other processes
 * (torch/engine.ts). The schedule, early stopping, metrics and checkpoints stay fit()'s, whichever runs.
 */
export interface EpochRunner {
  /** Trains the plan's batches in order; `onBatch` hears each one's loss and size. Returns early when `aborted()`. */
  trainEpoch(plan: EpochPlan, onBatch: (k: number, loss: number, size: number) => Promise<void>, aborted: () => boolean): Promise<void>;
  /** The held-out split in batches of `size`, in order: the mean loss and metric per example. */
  evaluate(size: number): Promise<{ readonly loss: number; readonly metric: number }>;
  params(): Promise<Map<string, Tensor>>;
  optimizerState(): Promise<OptimizerState>;
  restoreOptimizer(state: OptimizerState): Promise<boolean>;
  dispose(): Promise<void>;
}

/** The name prefix of Adam's running powers of β1 and β2 in a checkpoint's optimizer state. */
export const ADAM_POWER = "adam.power/";

/** The learning rate, β1, β2 and ε of Adam: PyTorch's ε (tfjs' default is its float32 backend's 1e-7), so the updates are torch.optim.Adam's. */
export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;
/** Momentum's coefficient, and RMSProp's decay and ε (tfjs' defaults, which every engine keeps). */
export const MOMENTUM = 0.9;
export const RMSPROP = { decay: 0.9, epsilon: 1e-7 } as const;

/** Whether a model output already holds probabilities (a softmax), so cross-entropy takes their log. */
export function outputIsProbability(ir: ModelIR, node: number): boolean {
  const n = ir.nodes[node]!;
  if (n.op === Op.Softmax) return true;
  if (n.op === Op.Apply || n.op === Op.Map) {
    const layer = ir.layers.find((l) => l.name === n.attrs.layer)!;
    return layer.ir.nodes[layer.ir.outputs[0]!.node]!.op === Op.Softmax;
  }
  return false;
}

/**
 * Value targets time-major, [T, B, width] (zero past each example's end): written straight into one buffer, as nested
 * arrays flattened by Array.flat cost ~100 ms for a batch of 32 × 100 steps × 128.
 */
export function targetValues(targets: Batch["targets"], sequence: boolean, T: number, width: number, out: Float32Array = new Float32Array(T * targets.length * width)): Float32Array {
  const B = targets.length;
  for (let b = 0; b < B; b++) {
    const rows = (sequence ? targets[b] : [targets[b]]) as unknown[];
    for (let k = 0; k < Math.min(T, rows.length); k++) {
      const row = rows[k];
      const at = (k * B + b) * width;
      if (typeof row === "number") out[at] = row;
      else {
        // A flat row of numbers is copied in one pass; anything else (nested rows) is flattened first.
        const r = row as unknown[];
        if (r.length === width && typeof r[0] === "number" && typeof r[width - 1] === "number") {
          out.set(r as number[], at); // a row of numbers: one conversion (twice the loop below)
          continue;
        }
        let i = 0;
        if (r.length >= width) for (; i < width; i++) {
          const x = r[i];
          if (typeof x !== "number") break;
          out[at + i] = x;
        }
        if (i === width) continue;
        const flat = r.some(Array.isArray) ? r.flat(Infinity) as number[] : r as number[];
        for (let j = 0; j < width; j++) out[at + j] = flat[j]!;
      }
    }
  }
  return out;
}

/** Each example's class id at each step, time-major [T·B] (0 past an example's targets, as a padded step is masked). */
export function targetIds(targets: Batch["targets"], T: number): Int32Array {
  const B = targets.length;
  const out = new Int32Array(T * B);
  targets.forEach((t, b) => {
    const row = (Array.isArray(t) ? t : [t]) as number[];
    for (let k = 0; k < Math.min(T, row.length); k++) out[k * B + b] = row[k]!;
  });
  return out;
}
