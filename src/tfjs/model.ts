// A model lowered to tfjs: sequence constructs as loops over batched cell steps, masks for variable lengths.
import * as tf from "@tensorflow/tfjs";
import type { ModelIR, Node } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import type { DimEnv } from "../runtime/dims.js";
import { layerEnv } from "../runtime/dims.js";
import { maskKey, stepBlocks, stepsOf, TfCell, type History, type StepBlock } from "./cell.js";
import { batchedOf, tfKernel, type TfValue } from "./kernels.js";
import { driveModel, type ModelBackend, type Scanned, type StatesOf } from "../ir/model-driver.js";
import { concreteShape } from "../runtime/dims.js";
import { optimize } from "../passes/pipeline.js";
import { FusedScan, fusedUnsupported } from "../fused/scan.js";
import { fusedScanOp } from "./fused.js";
import { tfBeamSearch } from "./beam.js";
import type { ScanPath } from "../runtime/training.js";

/**
 * A sequence for the whole batch: one time-major tensor [T·B, …] (the form the fused kernels read and write, handed
 * between layers as it is) and each example's length; its steps ([B, …] each) are cut from it only where a construct
 * runs step by step, once, through blocks (see stepBlocks). Steps past an example's length hold anything: outputs and
 * losses mask them.
 */
export class TfSeq {
  readonly kind = "seq";
  private cutSteps: readonly tf.Tensor[] | undefined;
  private cutBlocks: readonly StepBlock[] | undefined;
  private joined: tf.Tensor | undefined;

  private constructor(readonly T: number, readonly batch: number, readonly lengths: readonly number[], from: { tm?: tf.Tensor; steps?: readonly tf.Tensor[] }) {
    this.joined = from.tm;
    this.cutSteps = from.steps;
  }

  /** From a time-major tensor [T·B, …]. */
  static timeMajor(tm: tf.Tensor, T: number, batch: number, lengths: readonly number[]): TfSeq {
    return new TfSeq(T, batch, lengths, { tm });
  }

  /** From its steps [B, …] each (T ≥ 1). */
  static ofSteps(steps: readonly tf.Tensor[], lengths: readonly number[]): TfSeq {
    return new TfSeq(steps.length, lengths.length, lengths, { steps });
  }

  /** The whole sequence, time-major [T·B, …]. */
  get tm(): tf.Tensor {
    return (this.joined ??= tf.concat(this.cutSteps as tf.Tensor[], 0));
  }

  /** Consecutive steps stacked, about √T at a time (time-major, see stepBlocks). */
  get blocks(): readonly StepBlock[] {
    return (this.cutBlocks ??= this.T === 0 ? [] : stepBlocks(this.tm, this.T));
  }

  get steps(): readonly tf.Tensor[] {
    return (this.cutSteps ??= stepsOf(this.blocks));
  }
}

export type TfModelValue = ({ readonly kind: "one" } & TfValue) | TfSeq | { readonly kind: "states"; readonly states: ReadonlyMap<string, tf.Tensor> };
type Value = ({ readonly kind: "one" } & TfValue) | TfSeq;

export interface TfModelInput {
  /** Sequences [batch, time, ...] (int32 for token ids), single values [batch, ...]. */
  readonly inputs: Readonly<Record<string, tf.Tensor>>;
  readonly lengths?: Readonly<Record<string, readonly number[]>>;
  readonly seed?: number;
  /** Streaming: each scan's history at the end of the previous call, by scan node (see `histories`). */
  readonly carry?: ReadonlyMap<number, History>;
  /** The caller reads `histories` afterwards (streaming): scans run op by op, which keeps them. */
  readonly streaming?: boolean;
  /** A gradient will be taken (a training step): the fused kernels pay most there. */
  readonly training?: boolean;
  /**
   * False when no gradient will be taken with respect to the inputs themselves (a Trainer's step: only its
   * variables'): a fused scan of an input then leaves out the products of that gradient. Default true.
   */
  readonly inputGradients?: boolean;
  /** Only these nodes (and what they read) are computed; the rest are left undefined. Default: every node. */
  readonly only?: readonly number[];
}

export interface LoweringOptions {
  /** Run the IR passes and hoist state-free work out of loops (default true). */
  readonly optimize?: boolean;
  /** Passes to leave out, by name. */
  readonly disabled?: ReadonlySet<string>;
  /** Run each scan the fused kernel can take as one op with its own gradient (default true; see `paths`). */
  readonly fused?: boolean;
}

export type { ScanPath } from "../runtime/training.js";

export type TfBackend = "tfjs-cpu" | "tfjs-wasm";

/**
 * The lowering choices measured best per backend (npm run bench). On tfjs' cpu backend a slice along the last axis
 * copies element by element, so stacking gate weights into one product and slicing the gates apart costs more than
 * it saves; the fused product is left out there, and input projections are still hoisted out of the loop.
 */
export function loweringDefaults(backend: TfBackend): { optimize: boolean; disabled?: ReadonlySet<string> } {
  return backend === "tfjs-cpu" ? { optimize: true, disabled: new Set(["fuse-matmul"]) } : { optimize: true };
}

/** Below this many steps a scan runs the cell as written (measured: one streaming step is 5-10× slower hoisted). */
const MIN_STEPS_TO_HOIST = 4;

function asOne(v: Value): { readonly kind: "one" } & TfValue {
  if (v.kind !== "one") throw new Error("internal: a sequence where a single value was expected");
  return v;
}
function asSeq(v: Value): TfSeq {
  if (v.kind !== "seq") throw new Error("internal: a single value where a sequence was expected");
  return v;
}

export class TfModel {
  readonly cells: Map<string, TfCell>;
  /** The same layers without passes: for scans too short to repay hoisting (streaming, one step at a time). */
  private readonly plainCells: Map<string, TfCell>;

  /**
   * `variables` are keyed `layer.param`. With `optimize`, each layer's cell goes through the pass pipeline (minus
   * `disabled` passes) and the state-free part of every scan is computed for all steps before its loop.
   */
  constructor(readonly ir: ModelIR, readonly env: DimEnv, readonly variables: ReadonlyMap<string, tf.Tensor>, readonly opts: LoweringOptions = {}) {
    this.cells = new Map(ir.layers.map((l) => {
      const prefix = `${l.name}.`;
      const own = new Map([...variables].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]));
      const cellIR = opts.optimize === false ? l.ir : optimize(l.ir, opts.disabled ?? new Set());
      return [l.name, new TfCell(cellIR, layerEnv(l, env), own)];
    }));
    this.plainCells = new Map([...this.cells].map(([name, c]) => [name, opts.optimize === false ? c : new TfCell(ir.layers.find((l) => l.name === name)!.ir, c.env, c.params)]));
  }

  /** Every node's value; call inside tf.tidy (or a gradient tape), which owns the intermediates. */
  run(input: TfModelInput): TfModelValue[] {
    const batch = input.inputs[this.ir.inputs[0]!.name]!.shape[0]!;
    return driveModel(this.ir, this.backend(input, batch), input.only).map((d) => (d.kind === "value" ? d.v
      : { kind: "states", states: new Map([...d.states].map(([k, v]) => [k, batchedOf(asOne(v), batch)])) }));
  }

  private backend(input: TfModelInput, batch: number): ModelBackend<Value> {
    // A gradient is being recorded (a caller's own tf.variableGrads over a compiled module) counts as training.
    const training = () => input.training || tf.engine().isTapeOn();
    const one = (t: tf.Tensor): Value => ({ kind: "one", t, batched: true });
    return {
      input: (n) => {
        const t = input.inputs[n.attrs.name!]!;
        if (!n.seq) return one(t);
        const T = t.shape[1]!;
        // Time-major once ([T·B, …]): every construct after this reads it, or its steps, as it is.
        const tm = tf.reshape(tf.transpose(t, [1, 0, ...t.shape.slice(2).map((_, k) => k + 2)]), [T * batch, ...t.shape.slice(2)]);
        return TfSeq.timeMajor(tm, T, batch, input.lengths?.[n.attrs.name!] ?? Array(batch).fill(T));
      },
      constant: (n) => ({ kind: "one", ...tfKernel(n, [], this.env, batch) }),
      pointwise: (n, args) => {
        const seq = args.find((a): a is TfSeq => a.kind === "seq");
        if (!seq) return { kind: "one", ...tfKernel(n, args.map(asOne), this.env, batch) };
        // Over every step at once: sequences time-major, a single value of each example repeated for every step.
        const rows = seq.T * batch;
        const whole = args.map((a): TfValue => (a.kind === "seq" ? { t: a.tm, batched: true }
          : a.batched ? { t: tf.tile(a.t, [seq.T, ...a.t.shape.slice(1).map(() => 1)]), batched: true } : a));
        return TfSeq.timeMajor(batchedOf(tfKernel(n, whole, this.env, rows), rows), seq.T, batch, seq.lengths);
      },
      [Op.Apply]: (n, xs) => {
        const cell = this.cells.get(n.attrs.layer!)!;
        const ins = new Map(cell.ir.inputs.map((inp, k) => [inp.name, batchedOf(asOne(xs[k]!), batch)]));
        return one(this.first(cell, cell.step(ins, cell.initialHistory(batch), batch).outputs));
      },
      [Op.Map]: (n, xs) => this.scan(n, xs.map(asSeq), undefined, batch, undefined, false, training()).seq,
      [Op.Scan]: (n, xs, init) => this.scan(n, xs.map(asSeq), init, batch, input.carry?.get(n.id), input.streaming, training(), input.inputGradients !== false),
      [Op.Generate]: (n, start, init, wholes) => this.generate(n, start, init, batch, input.seed ?? 0, wholes.map(asSeq)),
      [Op.Last]: (_n, v) => {
        const s = asSeq(v);
        const T = s.T;
        const rest = s.tm.shape.slice(1);
        if (s.lengths.every((l) => l === T)) return one(tf.slice(s.tm, [(T - 1) * batch, ...rest.map(() => 0)], [batch, ...rest]));
        // Each example's row at its own last step: a one-hot selection over time (gather's gradient is missing on wasm).
        const pick = tf.tensor2d(Array.from({ length: T }, (_, t) => s.lengths.map((l) => (t === l - 1 ? 1 : 0))).flat(), [T, batch], s.tm.dtype as "float32" | "int32");
        return one(tf.sum(tf.mul(tf.reshape(s.tm, [T, batch, ...rest]), tf.reshape(pick, [T, batch, ...rest.map(() => 1)])), 0));
      },
    };
  }

  private first(cell: TfCell, outputs: Map<string, tf.Tensor>): tf.Tensor {
    return outputs.get(cell.ir.outputs[0]!.name)!;
  }

  /** Starting states by name, each [batch, …]. */
  private static startOf(init: StatesOf<Value> | undefined, batch: number): Map<string, tf.Tensor> {
    return new Map([...(init ?? [])].map(([k, v]) => [k, batchedOf(asOne(v), batch)]));
  }

  /** Each scan's history after its last step, by node: what a streaming caller carries into the next call. */
  readonly histories = new Map<number, History>();

  /** How every scan ran in the last `run`, by node. */
  readonly paths = new Map<number, ScanPath>();
  private readonly kernels = new Map<string, FusedScan | string>();

  /**
   * The fused kernel of a layer, or why there is none; one per set of input gradients wanted (a scan of the model's
   * own input data wants none, and its backward pass leaves those products out).
   */
  private kernelFor(layer: string, inputGradients: readonly boolean[]): FusedScan | string {
    const key = `${layer}\u0000${inputGradients.map(Number).join("")}`;
    let k = this.kernels.get(key);
    if (k === undefined) {
      const cell = this.cells.get(layer)!;
      const why = this.opts.optimize === false ? "the IR passes are off (--no-passes)" : fusedUnsupported(cell.ir);
      k = why ?? new FusedScan(cell.ir, cell.env, inputGradients);
      this.kernels.set(key, k);
    }
    return k;
  }

  /**
   * The sequences a layer's inputs read whole, by input name, each batch first [B, S, …] with its padding zeroed, and
   * beside them the mask [B, S] of each length symbol (see maskKey).
   */
  private wholes(layer: string, xs: readonly (TfSeq | undefined)[], batch: number): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    this.cells.get(layer)!.ir.inputs.forEach((inp, j) => {
      if (inp.memory === undefined) return;
      const seq = xs[j]!;
      const rest = seq.tm.shape.slice(1);
      const mask = tf.tensor2d(seq.lengths.map((l) => Array.from({ length: seq.T }, (_, s) => (s < l ? 1 : 0))).flat(), [batch, seq.T]);
      const bm = tf.transpose(tf.reshape(seq.tm, [seq.T, batch, ...rest]), [1, 0, ...rest.map((_, k) => k + 2)]);
      out.set(inp.name, tf.mul(bm, tf.reshape(mask, [batch, seq.T, ...rest.map(() => 1)])));
      out.set(maskKey(inp.memory), mask);
    });
    return out;
  }

  private scan(n: Node, all: readonly TfSeq[], init: StatesOf<Value> | undefined, batch: number, carried: History | undefined, streaming = false, training = false, inputGradients = true): Scanned<Value> {
    const layer = n.attrs.layer!;
    const inputs = this.cells.get(layer)!.ir.inputs;
    // Inputs read whole (attention over a sequence) are given at every step as they are; the rest are stepped through.
    const wholes = this.wholes(layer, all, batch);
    const stepped = inputs.flatMap((inp, j) => (inp.memory === undefined ? [{ name: inp.name, seq: all[j]! }] : []));
    const xs = stepped.map((x) => x.seq);
    const T = xs[0]!.T;
    const lengths = xs[0]!.lengths;
    const why = n.op === Op.Map && !wholes.size ? "no states to carry: its steps run as one batch" : this.opts.fused === false ? "fused kernels are off"
      : wholes.size ? "it reads a sequence whole (attention): step by step on TensorFlow.js"
      : streaming || carried ? "streaming keeps each step's history"
      : T < MIN_STEPS_TO_HOIST ? `${T} step${T === 1 ? "" : "s"}: too short to repay the kernel's setup` : undefined;
    // Unless a gradient with respect to the model's inputs may be asked for, none flows into a scan of one.
    const kernel = why ?? this.kernelFor(layer, xs.map((_, j) => inputGradients || this.ir.nodes[n.args[j]!]!.op !== Op.Input));
    const kind = n.op === Op.Map ? "map" : "scan";
    this.paths.set(n.id, typeof kernel === "string" ? { kind, layer, fused: false, why: kernel }
      : { kind, layer, fused: true, why: training ? "one fused op forward, backpropagation through time as its gradient" : "one fused op (a forward pass alone: nothing kept for a gradient)", loopsInJs: () => kernel.loopsInJs() });
    if (typeof kernel !== "string") {
      const cell = this.cells.get(layer)!;
      const r = fusedScanOp(kernel, {
        xs: xs.map((x) => x.tm), T, init: TfModel.startOf(init, batch), params: cell.params,
        lengths: lengths.some((l) => l !== T) ? lengths : undefined, reverse: !!n.attrs.reverse, batch, training,
      });
      return { seq: TfSeq.timeMajor(r.ys, T, batch, lengths), finals: TfModel.recordOf(r.finals) };
    }
    // Hoisting pays for its setup (stacking, static transposes) only over several steps.
    const cell = (T < MIN_STEPS_TO_HOIST ? this.plainCells : this.cells).get(n.attrs.layer!)!;
    const masked = lengths.some((l) => l !== T);
    let history: History = carried ?? cell.initialHistory(batch, TfModel.startOf(init, batch));
    const steps: tf.Tensor[] = new Array(T);
    // Hoisting: the state-free part computed before the loop, a block of about √T steps at a time (time-major,
    // [steps*B, …]): one large product per block, and each step's part cut from its block, not from the whole.
    const pre = this.opts.optimize === false || T < MIN_STEPS_TO_HOIST || wholes.size ? undefined
      : xs[0]!.blocks.flatMap((b, k) => TfCell.perStep(cell.precompute(new Map(cell.ir.inputs.map((inp, j) => [inp.name, xs[j]!.blocks[k]!.t])), b.steps * batch), b.steps));
    // What reads only the sequences read whole (keys times a weight, say) is computed once, not at every step.
    const fixed = wholes.size ? cell.perSequenceValues(wholes, batch) : undefined;
    for (let s = 0; s < T; s++) {
      const t = n.attrs.reverse ? T - 1 - s : s;
      const stepHistory = n.op === Op.Map ? cell.initialHistory(batch) : history;
      const r = cell.step(new Map([...stepped.map((x) => [x.name, x.seq.steps[t]!] as const), ...wholes]), stepHistory, batch, pre?.[t], fixed);
      const y = this.first(cell, r.outputs);
      if (!masked) {
        steps[t] = y;
        if (n.op === Op.Scan) history = r.history;
        continue;
      }
      const m = tf.tensor1d(lengths.map((l) => t < l), "bool");
      const keep = (x: tf.Tensor, old: tf.Tensor) => tf.where(tf.reshape(m, [batch, ...Array(x.rank - 1).fill(1)]), x, old);
      steps[t] = keep(y, tf.zerosLike(y));
      if (n.op === Op.Scan) history = new Map([...r.history].map(([name, h]) => [name, h.map((x, i) => keep(x, history.get(name)![i]!))]));
    }
    if (n.op === Op.Scan) this.histories.set(n.id, history);
    return { seq: T ? TfSeq.ofSteps(steps, lengths) : this.emptySeq(cell, batch, lengths), finals: TfModel.finalsOf(history) };
  }

  private generate(n: Node, start: Value | undefined, init: StatesOf<Value> | undefined, batch: number, seed: number, given: readonly TfSeq[]): Scanned<Value> {
    const cell = this.cells.get(n.attrs.layer!)!;
    let history = cell.initialHistory(batch, TfModel.startOf(init, batch));
    const wholes = this.wholes(n.attrs.layer!, [undefined, ...given], batch);
    const fixed = wholes.size ? cell.perSequenceValues(wholes, batch) : undefined;
    if ((n.attrs.beam ?? 1) > 1) {
      const r = tfBeamSearch(n, cell, history, batch, (outputs) => this.first(cell, outputs), wholes);
      const lengths = r.tokens.map((t) => t.length), T = Math.max(0, ...lengths);
      const steps = Array.from({ length: T }, (_, t) => tf.tensor1d(r.tokens.map((seq) => seq[t] ?? 0), "int32"));
      return { seq: T ? TfSeq.ofSteps(steps, lengths) : this.emptySeq(cell, batch, lengths), finals: TfModel.recordOf(r.finals) };
    }
    const tokens = n.dtype === "int";
    let x = tokens ? tf.fill([batch], n.attrs.startToken!, "int32") : batchedOf(asOne(start!), batch);
    const steps: tf.Tensor[] = [];
    const lengths: number[] = Array(batch).fill(-1);
    for (let k = 0; k < n.attrs.steps!; k++) {
      const r = cell.step(new Map([[cell.ir.inputs[0]!.name, x], ...wholes]), history, batch, undefined, fixed);
      // A row that has ended keeps the states of its last step (the interpreter stops stepping it there).
      const ended = lengths.map((l) => l !== -1);
      if (ended.some(Boolean)) {
        const m = tf.tensor1d(ended, "bool");
        history = new Map([...r.history].map(([name, h]) => [name, h.map((x2, i) => tf.where(tf.reshape(m, [batch, ...Array(x2.rank - 1).fill(1)]), history.get(name)![i]!, x2))]));
      } else history = r.history;
      const y = this.first(cell, r.outputs);
      if (!tokens) { steps.push(y); x = y; continue; }
      const next = n.attrs.temperature! > 0
        ? tf.cast(tf.reshape(tf.multinomial(tf.div(y, n.attrs.temperature!) as tf.Tensor2D, 1, seed + k), [batch]), "int32")
        : tf.cast(tf.argMax(y, -1), "int32");
      const ids = next.dataSync();
      ids.forEach((id, b) => { if (lengths[b] === -1 && id === n.attrs.until) lengths[b] = k; });
      steps.push(next);
      x = next;
      if (lengths.every((l) => l !== -1)) break;
    }
    const final = lengths.map((l) => (l === -1 ? steps.length : l));
    // Steps at or after each example's end token are padding: zero them, as the interpreter leaves them out.
    const clean = steps.map((s, t) => tf.where(tf.reshape(tf.tensor1d(final.map((l) => t < l), "bool"), [batch, ...Array(s.rank - 1).fill(1)]), s, tf.zerosLike(s)));
    return { seq: clean.length ? TfSeq.ofSteps(clean, final) : this.emptySeq(cell, batch, final), finals: TfModel.finalsOf(history) };
  }

  /** A sequence of no steps, shaped as the cell's output (what follows it is lowered against that shape). */
  private emptySeq(cell: TfCell, batch: number, lengths: readonly number[]): TfSeq {
    return TfSeq.timeMajor(tf.zeros([0, ...concreteShape(cell.ir.nodes[cell.ir.outputs[0]!.node]!.shape, cell.env, "the output")]), 0, batch, lengths);
  }

  /** Each state's newest value in a history, as the driver's record. */
  private static finalsOf(history: History): StatesOf<Value> {
    return TfModel.recordOf(new Map([...history].map(([k, h]) => [k, h[0]!])));
  }

  /** Final states as the driver's record. */
  private static recordOf(finals: ReadonlyMap<string, tf.Tensor>): StatesOf<Value> {
    return new Map([...finals].map(([k, t]) => [k, { kind: "one", t, batched: true }]));
  }
}
