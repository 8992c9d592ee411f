// Training on tfjs: a loss on one model output (cross-entropy or MSE, masked over padded steps), an optimizer, clipping.
import * as tf from "@tensorflow/tfjs";
import type { ModelIR } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import type { DimEnv } from "../runtime/dims.js";
import type { Tensor } from "../runtime/tensor.js";
import { RnncError } from "../diagnostics/errors.js";
import { ADAM, ADAM_POWER, metricNameOf, MOMENTUM, outputIsProbability, RMSPROP, targetLabels, targetValues, type Batch, type Evaluation, type OptimizerName, type OptimizerState, type ScanPath, type TrainEngine, type TrainSettings } from "../runtime/training.js";
import { TfModel, type LoweringOptions, type TfModelValue } from "./model.js";
import { fromTf, scoped, toTf, variablesOf } from "./run.js";
import { ctcLoss } from "../runtime/ctc.js";

export type { Batch, Evaluation, LossName, OptimizerName } from "../runtime/training.js";

export interface TrainOptions extends TrainSettings {
  /** Passes and hoisting (on by default). */
  readonly lowering?: LoweringOptions;
}

function optimizerOf(name: OptimizerName, lr: number): tf.Optimizer {
  switch (name) {
    case "sgd": return tf.train.sgd(lr);
    case "momentum": return tf.train.momentum(lr, MOMENTUM);
    case "adam": return tf.train.adam(lr, ADAM.beta1, ADAM.beta2, ADAM.epsilon);
    case "rmsprop": return tf.train.rmsprop(lr, RMSPROP.decay, 0, RMSPROP.epsilon);
  }
}

/** Adam's running powers of β1 and β2 (tfjs' accBeta1, accBeta2), or none for other optimizers. */
function adamPowers(o: tf.Optimizer): Record<string, tf.Variable> {
  const a = o as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
  return a.accBeta1 && a.accBeta2 ? { accBeta1: a.accBeta1, accBeta2: a.accBeta2 } : {};
}

export class Trainer implements TrainEngine {
  readonly variables: Map<string, tf.Variable>;
  private readonly optimizer: tf.Optimizer;
  private readonly model: TfModel;
  private readonly outputNode: number;
  private readonly probabilities: boolean;

  constructor(readonly ir: ModelIR, readonly env: DimEnv, params: ReadonlyMap<string, Tensor>, readonly opts: TrainOptions) {
    this.lr = opts.learningRate;
    const out = ir.outputs.find((o) => o.name === opts.output);
    if (!out) throw new RnncError("RNN0605", `model \`${ir.name}\` has no output \`${opts.output}\``, [`its outputs are ${ir.outputs.map((o) => o.name).join(", ")}`]);
    const node = ir.nodes[out.node]!;
    if (node.op === Op.Generate || node.dtype === "int") throw new RnncError("RNN0605", `output \`${opts.output}\` is generated token ids, which have no gradient`, [], "train the teacher-forced output (a scan over the target sequence) instead");
    this.outputNode = out.node;
    this.probabilities = outputIsProbability(ir, out.node);
    this.variables = variablesOf(params, true);
    this.model = new TfModel(ir, env, this.variables, opts.lowering);
    this.optimizer = optimizerOf(opts.optimizer, opts.learningRate);
  }

  /** The loss and metric of a batch, as scalars (inside the caller's scope). */
  private lossOf(batch: Batch, training = false): { loss: tf.Scalar; metric: tf.Scalar } {
    const inputs = Object.fromEntries(this.ir.inputs.map((i) => [i.name, toTf(batch.inputs[i.name]!, i.dtype === "int" ? "int32" : "float32")]));
    // Gradients are taken with respect to the variables alone, never the data.
    const values = this.model.run({ inputs, training, inputGradients: false, only: [this.outputNode], ...(batch.lengths ? { lengths: batch.lengths } : {}) });
    const v: TfModelValue = values[this.outputNode]!;
    const B = batch.targets.length;
    // Time-major throughout, as the model gives its sequences: y [T, B, …], mask and targets [T, B].
    let y: tf.Tensor;
    let lengths: readonly number[];
    let T = 1;
    if (v.kind === "seq") {
      T = v.T;
      y = tf.reshape(v.tm, [T, B, ...v.tm.shape.slice(1)]);
      lengths = v.lengths;
    } else if (v.kind === "one") {
      y = tf.expandDims(v.t, 0);
      lengths = Array(B).fill(1);
    } else throw new RnncError("RNN0605", `output \`${this.opts.output}\` is a set of states; train an output with values`);
    const mask = tf.tensor2d(Array.from({ length: T }, (_, t) => lengths.map((l) => (t < l ? 1 : 0))).flat(), [T, B]);
    const valid = tf.maximum(tf.sum(mask), 1);
    if (this.opts.loss === "ctc") {
      // CTC's sums over alignments run in JS on the output's values (src/runtime/ctc.ts, as the fused engine's): the
      // loss is their result, and its gradient theirs, handed back to tfjs' autodiff.
      let metric = 0;
      const labels = targetLabels(batch.targets), C = y.shape[y.rank - 1]!;
      const ctc = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
        const yy = args[0] as tf.Tensor;
        const r = ctcLoss({ y: yy.dataSync(), T, B, C, lengths }, labels, this.opts.blank ?? 0, this.probabilities, training);
        metric = r.metric;
        return { value: tf.scalar(r.loss), gradFunc: (d: tf.Tensor) => [tf.mul(d, r.dy ? tf.tensor(r.dy, yy.shape) : tf.zerosLike(yy))] };
      });
      const loss = ctc(y) as tf.Scalar;
      return { loss, metric: tf.scalar(metric) };
    }
    if (this.opts.loss === "crossentropy") {
      const ids = batch.targets.map((t) => (Array.isArray(t) ? t : [t]) as number[]);
      const targets = tf.tensor2d(Array.from({ length: T }, (_, t) => ids.map((r) => r[t] ?? 0)).flat(), [T, B], "int32");
      const classes = y.shape[y.rank - 1]!;
      const logp = this.probabilities ? tf.log(tf.add(y, 1e-7)) : tf.logSoftmax(y);
      const picked = tf.sum(tf.mul(logp, tf.oneHot(targets, classes)), -1);
      const loss = tf.div(tf.neg(tf.sum(tf.mul(picked, mask))), valid) as tf.Scalar;
      const correct = tf.cast(tf.equal(tf.argMax(y, -1), targets), "float32");
      return { loss, metric: tf.div(tf.sum(tf.mul(correct, mask)), valid) as tf.Scalar };
    }
    const width = y.shape.slice(2).reduce((a, b) => a * b, 1);
    const target = tf.tensor(targetValues(batch.targets, v.kind === "seq", T, width), y.shape);
    // The mean over each step's values, summed over the valid steps, over their number: each value's weight is
    // mask / (width · valid). Its gradient, 2 · weight · (y − target), is written out (tfjs' own for mean and sum
    // build a tensor of ones the size of the output and multiply by it).
    const weight = tf.div(tf.reshape(mask, [T, B, ...y.shape.slice(2).map(() => 1)]), tf.mul(valid, width));
    const mse = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const diff = tf.sub(args[0] as tf.Tensor, target);
      (args[1] as tf.GradSaveFunc)([diff, weight]); // kept for the gradient (the forward's other tensors are not)
      return {
        value: tf.sum(tf.mul(tf.square(diff), weight)) as tf.Scalar,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.mul(saved[0]!, tf.mul(saved[1]!, 2)), dy),
      };
    });
    const loss = mse(y) as tf.Scalar;
    return { loss, metric: tf.sqrt(loss) as tf.Scalar };
  }

  /** One optimizer step; returns the batch's loss before the update. */
  step(batch: Batch): number {
    const loss = this.accumulate(batch);
    this.apply();
    return loss;
  }

  /** Gradients summed over batches since the last update (gradient accumulation), and how many batches. */
  private pending: { grads: Record<string, tf.Tensor>; batches: number } | undefined;

  /** Adds one batch's gradients to those waiting for the next update; returns its loss. */
  accumulate(batch: Batch): number {
    return scoped(() => {
      const { value, grads } = tf.variableGrads(() => this.lossOf(batch, true).loss, [...this.variables.values()]);
      const before = this.pending?.grads;
      const sum = Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.keep(before ? tf.add(before[k]!, g) : g)]));
      if (before) tf.dispose(Object.values(before));
      this.pending = { grads: sum, batches: (this.pending?.batches ?? 0) + 1 };
      return value.dataSync()[0]!;
    });
  }

  /** Updates the weights with the mean of the waiting gradients (clipped, then decayed weights), if there are any. */
  apply(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    scoped(() => {
      const vars = [...this.variables.values()];
      let g = p.batches === 1 ? p.grads : Object.fromEntries(Object.entries(p.grads).map(([k, x]) => [k, tf.div(x, p.batches)]));
      if (this.opts.clipNorm !== undefined) {
        // As torch.nn.utils.clip_grad_norm_: scaled by max / (norm + 1e-6) where that is below 1.
        const norm = tf.sqrt(tf.addN(Object.values(g).map((x) => tf.sum(tf.square(x))))).dataSync()[0]!;
        const scale = this.opts.clipNorm / (norm + 1e-6);
        if (scale < 1) g = Object.fromEntries(Object.entries(g).map(([k, x]) => [k, tf.mul(x, scale)]));
      }
      this.optimizer.applyGradients(g);
      const decay = this.opts.weightDecay ? 1 - this.lr * this.opts.weightDecay : 1;
      if (decay !== 1) for (const v of vars) if (v.rank >= 2) v.assign(tf.mul(v, decay));
    });
    tf.dispose(Object.values(p.grads));
  }

  /** The learning rate the optimizer steps with (the option's, until a schedule sets another). */
  private lr: number;
  /** The learning rate of the next steps (a schedule sets it before each). */
  setLearningRate(lr: number): void {
    if (lr === this.lr) return;
    this.lr = lr;
    const o = this.optimizer as unknown as { setLearningRate?: (x: number) => void; learningRate: number };
    if (o.setLearningRate) o.setLearningRate(lr);
    else o.learningRate = lr;
  }

  evaluate(batch: Batch): Evaluation {
    const [loss, metric] = scoped(() => {
      const r = this.lossOf(batch);
      return [r.loss.dataSync()[0]!, r.metric.dataSync()[0]!] as const;
    });
    return { loss, metric, metricName: metricNameOf(this.opts.loss) };
  }

  /** The optimizer's state with param names, for a checkpoint. */
  async optimizerState(): Promise<OptimizerState> {
    const ws = await this.optimizer.getWeights();
    return {
      name: this.opts.optimizer,
      weights: [
        ...ws.map((w) => ({ name: this.rename(w.name, "toParam"), shape: [...w.tensor.shape], data: Array.from(w.tensor.dataSync()) })),
        // Adam's running powers β^t: tfjs recomputes them as pow(β, t) on setWeights, which differs from the
        // product it keeps in float32 by an ulp or so after some steps; kept as they are, a resume is exact.
        ...Object.entries(adamPowers(this.optimizer)).map(([k, v]) => ({ name: `${ADAM_POWER}${k}`, shape: [], data: [v.dataSync()[0]!] })),
      ],
    };
  }

  /** Optimizer slots are named after variables ("<variable>/m"); checkpoints name them after params instead. */
  /** How each scan ran in the last step or evaluation (fused or op by op), by node. */
  scanPaths(): ReadonlyMap<number, ScanPath> {
    return this.model.paths;
  }

  private rename(name: string, way: "toParam" | "toVariable"): string {
    for (const [param, v] of this.variables) {
      const [from, to] = way === "toParam" ? [v.name, param] : [param, v.name];
      if (name === from || name.startsWith(`${from}/`)) return to + name.slice(from.length);
    }
    return name;
  }

  /** Restores a checkpoint's optimizer state; false (nothing changed) when it was another optimizer's or other params'. */
  async restoreOptimizer(state: OptimizerState): Promise<boolean> {
    if (state.name !== this.opts.optimizer) return false;
    const names = new Set(this.variables.keys());
    const powers = state.weights.filter((w) => w.name.startsWith(ADAM_POWER));
    const slots = state.weights.filter((w) => !w.name.startsWith(ADAM_POWER));
    if (!slots.every((w) => w.name === "iter" || names.has(w.name.split("/")[0]!))) return false;
    const tensors = slots.map((w) => ({ name: this.rename(w.name, "toVariable"), tensor: tf.tensor(w.data, w.shape) }));
    await this.optimizer.setWeights(tensors);
    for (const t of tensors) t.tensor.dispose();
    const own = adamPowers(this.optimizer);
    for (const p of powers) own[p.name.slice(ADAM_POWER.length)]?.assign(tf.scalar(p.data[0]!));
    return true;
  }

  /** The current weights, as the interpreter's tensors keyed `layer.param`. */
  params(): Map<string, Tensor> {
    return new Map([...this.variables].map(([k, v]) => [k, fromTf(v)]));
  }

  dispose(): void {
    if (this.pending) tf.dispose(Object.values(this.pending.grads));
    for (const v of this.variables.values()) v.dispose();
    this.optimizer.dispose();
  }
}
