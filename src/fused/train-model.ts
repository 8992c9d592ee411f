// A model trained on the fused kernels alone: the forward pass with tapes, the loss, backpropagation through the model, flat optimizers.
import { RnncError } from "../diagnostics/errors.js";
import { reachable } from "../ir/graph.js";
import type { ModelIR, Node, NodeId } from "../ir/ir.js";
import { backpropagate, type GradientBackend } from "../ir/model-driver.js";
import { Op } from "../ir/ops.js";
import type { DimEnv } from "../runtime/dims.js";
import { sizeOf, type Tensor } from "../runtime/tensor.js";
import { metricNameOf, outputIsProbability, targetIds, targetLabels, targetValues, type Batch, type Evaluation, type OptimizerState, type ScanPath, type TrainEngine, type TrainSettings } from "../runtime/training.js";
import { crossEntropy, meanSquared, type LossOutput, type LossResult } from "./loss.js";
import { ctcLoss } from "../runtime/ctc.js";
import { clipScale, FlatOptimizer, type FlatParam } from "./optimizers.js";
import { weightsChanged } from "./weight-versions.js";
import { BatchedModelRunner, batchedUnsupported, type BatchValue, type LayerCall } from "./run-model.js";

/** Why this model's output cannot train on the fused kernels alone (tfjs then trains it), or undefined when it can. */
export function fusedTrainingUnsupported(ir: ModelIR, output: string): string | undefined {
  const out = ir.outputs.find((o) => o.name === output);
  if (!out) return undefined; // the trainer reports the missing output itself
  return batchedUnsupported(ir, reachable(ir.nodes, [out.node]));
}

export class FusedTrainer implements TrainEngine {
  private readonly flat: FlatParam[];
  private readonly runner: BatchedModelRunner;
  private readonly optimizer: FlatOptimizer;
  private readonly outputNode: NodeId;
  private readonly probabilities: boolean;
  private lr: number;
  /** Gradients summed over batches since the last update, and how many batches. */
  private pending: { grads: Map<string, Float32Array>; batches: number } | undefined;
  private readonly paths = new Map<number, ScanPath>();

  constructor(readonly ir: ModelIR, readonly env: DimEnv, params: ReadonlyMap<string, Tensor>, readonly opts: TrainSettings) {
    const out = ir.outputs.find((o) => o.name === opts.output);
    if (!out) throw new RnncError("RNN0605", `model \`${ir.name}\` has no output \`${opts.output}\``, [`its outputs are ${ir.outputs.map((o) => o.name).join(", ")}`]);
    const node = ir.nodes[out.node]!;
    if (node.op === Op.Generate || node.dtype === "int") throw new RnncError("RNN0605", `output \`${opts.output}\` is generated token ids, which have no gradient`, [], "train the teacher-forced output (a scan over the target sequence) instead");
    const why = fusedTrainingUnsupported(ir, opts.output);
    if (why) throw new Error(`internal: fused training of a model it cannot take: ${why}`);
    this.outputNode = out.node;
    this.probabilities = outputIsProbability(ir, out.node);
    // The trainer's own copies, updated in place: the runner reads them where they are.
    this.flat = [...params].map(([name, t]) => ({ name, data: Float32Array.from(t.data), shape: [...t.shape] }));
    this.runner = new BatchedModelRunner(ir, env, new Map(this.flat.map((p) => [p.name, { shape: p.shape, data: p.data }])), true);
    this.lr = opts.learningRate;
    this.optimizer = new FlatOptimizer(opts.optimizer, opts.learningRate, this.flat);
  }

  /** The forward pass to the trained output and its loss (with the gradient when training). */
  private forward(batch: Batch, training: boolean): { loss: LossResult; calls: Map<NodeId, LayerCall>; values: ReturnType<BatchedModelRunner["drive"]>["values"] } {
    const { values, batch: B, calls } = this.runner.drive({ inputs: batch.inputs, ...(batch.lengths ? { lengths: batch.lengths } : {}) }, { only: [this.outputNode], training });
    const d = values[this.outputNode]!;
    if (d.kind !== "value") throw new RnncError("RNN0605", `output \`${this.opts.output}\` is a set of states; train an output with values`);
    const v = d.v;
    const o: LossOutput = v.kind === "seq"
      ? { y: v.data, T: v.T, B, width: sizeOf(v.shape), lengths: v.lengths }
      : { y: v.data, T: 1, B, width: sizeOf(v.shape), lengths: Array(B).fill(1) };
    // The loss's gradient and targets in the runner's arrays, like the batch's sequences (given back with them).
    const take = (n: number) => {
      const a = this.runner.arrays.take(n, true);
      this.taken.push(a);
      return a;
    };
    const loss = this.opts.loss === "crossentropy" ? crossEntropy(o, targetIds(batch.targets, o.T), this.probabilities, training, take)
      : this.opts.loss === "ctc" ? ctcLoss({ ...o, C: o.width }, targetLabels(batch.targets), this.opts.blank ?? 0, this.probabilities, training)
      : meanSquared(o, targetValues(batch.targets, v.kind === "seq", o.T, o.width, take(o.T * B * o.width)), training, take);
    this.notePaths(calls.size ? calls : undefined);
    return { loss, calls, values };
  }

  /** Arrays the last batch's loss took from the runner's. */
  private readonly taken: Float32Array[] = [];

  /** A batch is done with: its sequences and the loss's arrays serve the next. */
  private done(values: ReturnType<BatchedModelRunner["drive"]>["values"]): void {
    this.runner.recycle(values);
    for (const a of this.taken.splice(0)) this.runner.arrays.give(a);
  }

  /** Each param's gradient sum, the same array from one update to the next. */
  private readonly gradientArrays = new Map<string, Float32Array>();

  /** Param `key`'s gradient array, starting as a copy of `d`. */
  private gradientArray(key: string, d: Float32Array): Float32Array {
    let a = this.gradientArrays.get(key);
    if (!a || a.length !== d.length) this.gradientArrays.set(key, (a = new Float32Array(d.length)));
    a.set(d);
    return a;
  }

  accumulate(batch: Batch): number {
    const { loss, calls, values } = this.forward(batch, true);
    const grads = this.pending?.grads ?? new Map<string, Float32Array>();
    backpropagate(this.ir, this.gradients(values, calls, grads), new Map([[this.outputNode, loss.dy!]]));
    for (const c of calls.values()) c.kernel.discard(c.tape); // a layer no gradient reached gives its tape back too
    this.done(values);
    this.pending = { grads, batches: (this.pending?.batches ?? 0) + 1 };
    return loss.loss;
  }

  apply(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    // The mean over the batches, clipped: one factor the optimizer applies as it reads each gradient.
    const mean = 1 / p.batches;
    this.optimizer.step(p.grads, this.opts.clipNorm === undefined ? mean : mean * clipScale(p.grads.values(), this.opts.clipNorm, mean));
    const decay = this.opts.weightDecay ? 1 - this.lr * this.opts.weightDecay : 1;
    if (decay !== 1) for (const w of this.flat) if (w.shape.length >= 2) for (let i = 0; i < w.data.length; i++) w.data[i] = w.data[i]! * decay;
    weightsChanged(this.flat.map((w) => w.data)); // what the kernels kept of them (stacked, packed) is stale now
  }

  step(batch: Batch): number {
    const loss = this.accumulate(batch);
    this.apply();
    return loss;
  }

  setLearningRate(lr: number): void {
    this.lr = lr;
    this.optimizer.setLearningRate(lr);
  }

  evaluate(batch: Batch): Evaluation {
    const { loss, values } = this.forward(batch, false);
    this.done(values);
    return { loss: loss.loss, metric: loss.metric, metricName: metricNameOf(this.opts.loss) };
  }

  async optimizerState(): Promise<OptimizerState> {
    return this.optimizer.state();
  }

  async restoreOptimizer(state: OptimizerState): Promise<boolean> {
    return this.optimizer.restore(state);
  }

  scanPaths(): ReadonlyMap<number, ScanPath> {
    return this.paths;
  }

  optimizerPath(): string {
    return `optimizer: ${this.optimizer.path}`;
  }

  params(): Map<string, Tensor> {
    return new Map(this.flat.map((p) => [p.name, { shape: [...p.shape], data: Float32Array.from(p.data) }]));
  }

  dispose(): void {
    this.pending = undefined;
  }

  private notePaths(calls: Map<NodeId, LayerCall> | undefined): void {
    if (!calls) return;
    for (const [id, c] of calls) {
      const n = this.ir.nodes[id]!;
      if (this.paths.has(id) || n.op === Op.Apply || n.attrs.layer === undefined) continue;
      const whole = c.kernel.cell.inputs.some((i) => i.memory !== undefined);
      this.paths.set(id, { kind: n.op === Op.Map ? "map" : "scan", layer: n.attrs.layer!, fused: true,
        why: `the whole model on the fused kernels: forward, loss, backpropagation and the optimizer without tfjs${whole
          ? "; it reads a sequence whole (attention): what depends on that sequence alone is computed once a batch, the rest every step, on one thread" : ""}`,
        ...(whole ? { oneThread: true } : {}), loopsInJs: () => c.kernel.loopsInJs() });
    }
  }

  /** Each construct's gradient on the fused kernels; params' gradients are summed into `grads` by `layer.param`. */
  private gradients(values: ReturnType<BatchedModelRunner["drive"]>["values"], calls: Map<NodeId, LayerCall>, grads: Map<string, Float32Array>): GradientBackend<Float32Array> {
    const layerBackward = (n: Node, dy: Float32Array | undefined, dFinals: ReadonlyMap<string, Float32Array>) => {
      const c = calls.get(n.id)!;
      const g = c.kernel.backward(c.params, c.tape, [dy], dFinals, true); // borrowed: added up here at once
      for (const [name, d] of g.dParams) {
        const key = `${n.attrs.layer}.${name}`;
        const had = grads.get(key);
        if (had) addInto(had, d);
        else grads.set(key, this.gradientArray(key, d));
      }
      return g;
    };
    const seqOf = (id: NodeId): Extract<BatchValue, { kind: "seq" }> => {
      const d = values[id]!;
      if (d.kind !== "value" || d.v.kind !== "seq") throw new Error(`internal: node ${id} is not a sequence`);
      return d.v;
    };
    return {
      [Op.Apply]: (n, dy) => layerBackward(n, dy, new Map()).dxs,
      [Op.Map]: (n, dy) => layerBackward(n, dy, new Map()).dxs,
      [Op.Scan]: (n, dy, dFinals) => {
        const g = layerBackward(n, dy, dFinals);
        return { dxs: g.dxs, dInit: g.dInit };
      },
      [Op.Generate]: () => { throw new Error("internal: a gradient through generate on the fused trainer"); },
      [Op.Last]: (n, dy) => {
        const s = seqOf(n.args[0]!);
        const B = s.lengths.length, size = sizeOf(s.shape);
        const d = new Float32Array(s.T * B * size);
        for (let b = 0; b < B; b++) d.set(dy.subarray(b * size, (b + 1) * size), ((s.lengths[b]! - 1) * B + b) * size);
        return d;
      },
      // A model-level op ran as a one-op cell: its inputs' gradients, in the order of its arguments that are not constants.
      pointwise: (n, dy) => {
        const g = layerBackward(n, dy, new Map()).dxs;
        let k = 0;
        return n.args.map((a) => (this.ir.nodes[a]!.op === Op.Const ? undefined : g[k++]));
      },
      add: (a, b) => addInto(a, b),
    };
  }
}

function addInto(a: Float32Array, b: Float32Array): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = a[i]! + b[i]!;
  return a;
}
