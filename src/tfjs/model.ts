// A model lowered to tfjs: sequence constructs as loops over batched cell steps, masks for variable lengths.
import * as tf from "@tensorflow/tfjs";
import type { ModelIR, Node } from "../ir/ir.js";
import { reachable } from "../ir/graph.js";
import { Op } from "../ir/ops.js";
import type { DimEnv } from "../runtime/dims.js";
import { layerEnv } from "../runtime/dims.js";
import { blockSizes, stepBlocks, stepsOf, TfCell, type History, type StepBlock } from "./cell.js";
import { batchedOf, tfKernel, type TfValue } from "./kernels.js";
import { optimize } from "../passes/pipeline.js";
import { FusedScan, fusedUnsupported } from "../fused/scan.js";
import { fusedScanOp } from "./fused.js";

/** A sequence: one [batch, …] tensor per step, and each example's length; inputs also keep their steps stacked time-major ([T*batch, …]). */
export interface TfSeq { readonly kind: "seq"; readonly steps: readonly tf.Tensor[]; readonly lengths: readonly number[]; readonly blocks?: readonly StepBlock[] }
export type TfModelValue = ({ readonly kind: "one" } & TfValue) | TfSeq | { readonly kind: "states"; readonly states: ReadonlyMap<string, tf.Tensor> };

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

/** How a scan ran, and why (for `rnnc train --explain`). */
export interface ScanPath { readonly kind: "scan" | "map"; readonly layer: string; readonly fused: boolean; readonly why: string }

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

/** A sequence's steps in blocks (see stepBlocks): an input's own, or consecutive steps stacked. */
function blocksOf(s: TfSeq): readonly StepBlock[] {
  if (s.blocks) return s.blocks;
  let at = 0;
  return blockSizes(s.steps.length).map((n) => {
    const b = { t: tf.concat(s.steps.slice(at, at + n) as tf.Tensor[], 0), steps: n };
    at += n;
    return b;
  });
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
    const v: TfModelValue[] = [];
    for (const n of input.only ? reachable(this.ir.nodes, input.only) : this.ir.nodes) v[n.id] = this.evaluate(n, v, input, batch);
    return v;
  }

  private evaluate(n: Node, v: readonly TfModelValue[], input: TfModelInput, batch: number): TfModelValue {
    const seqOf = (i: number) => v[i] as TfSeq;
    const oneOf = (i: number) => v[i] as { kind: "one" } & TfValue;
    switch (n.op) {
      case Op.Input: {
        const t = input.inputs[n.attrs.name!]!;
        if (!n.seq) return { kind: "one", t, batched: true };
        const T = t.shape[1]!;
        // Time-major once ([T*batch, …]), cut into blocks and the blocks into steps (see stepBlocks): cheaper than unstacking the time axis.
        const timeMajor = tf.reshape(tf.transpose(t, [1, 0, ...t.shape.slice(2).map((_, k) => k + 2)]), [T * batch, ...t.shape.slice(2)]);
        const blocks = stepBlocks(timeMajor, T);
        return { kind: "seq", steps: stepsOf(blocks), lengths: input.lengths?.[n.attrs.name!] ?? Array(batch).fill(T), blocks };
      }
      case Op.Apply: {
        const cell = this.cells.get(n.attrs.layer!)!;
        const ins = new Map(cell.ir.inputs.map((inp, k) => [inp.name, batchedOf(oneOf(n.args[k]!), batch)]));
        return { kind: "one", t: this.first(cell, cell.step(ins, cell.initialHistory(batch), batch).outputs), batched: true };
      }
      // A gradient is being recorded (a caller's own tf.variableGrads over a compiled module) counts as training.
      case Op.Map: case Op.Scan: return this.scan(n, v, batch, input.carry?.get(n.id), input.streaming, input.training || tf.engine().isTapeOn());
      case Op.Generate: return this.generate(n, v, batch, input.seed ?? 0);
      case Op.Final: return { kind: "states", states: this.finals.get(n.args[0]!)! };
      case Op.States: return { kind: "states", states: new Map(n.attrs.names!.map((name, k) => [name, batchedOf(oneOf(n.args[k]!), batch)])) };
      case Op.Field: return { kind: "one", t: (v[n.args[0]!] as { states: ReadonlyMap<string, tf.Tensor> }).states.get(n.attrs.name!)!, batched: true };
      case Op.Last: {
        const s = seqOf(n.args[0]!);
        const T = s.steps.length;
        if (s.lengths.every((l) => l === T)) return { kind: "one", t: s.steps[T - 1]!, batched: true };
        // A one-hot selection over time (gatherND has no gradient in tfjs).
        const stacked = tf.stack(s.steps as tf.Tensor[], 1);
        const pick = tf.tensor2d(s.lengths.flatMap((l) => Array.from({ length: T }, (_, t) => (t === l - 1 ? 1 : 0))), [batch, T], stacked.dtype as "float32" | "int32");
        return { kind: "one", t: tf.sum(tf.mul(stacked, tf.reshape(pick, [batch, T, ...Array(stacked.rank - 2).fill(1)])), 1), batched: true };
      }
      default: {
        const args = n.args.map((i) => v[i]!);
        const seq = args.find((a): a is TfSeq => a.kind === "seq");
        const at = (t: number): TfValue[] => args.map((a) => (a.kind === "seq" ? { t: a.steps[t]!, batched: true } : (a as TfValue)));
        if (!seq) return { kind: "one", ...this.pointwise(n, at(0), batch) };
        return { kind: "seq", steps: seq.steps.map((_, t) => this.pointwise(n, at(t), batch).t), lengths: seq.lengths };
      }
    }
  }

  private pointwise(n: Node, a: readonly TfValue[], batch: number): TfValue {
    return tfKernel(n, a, this.env, batch);
  }

  private first(cell: TfCell, outputs: Map<string, tf.Tensor>): tf.Tensor {
    return outputs.get(cell.ir.outputs[0]!.name)!;
  }

  private readonly finals = new Map<number, Map<string, tf.Tensor>>();

  /** Initial states from `init`: a record in order, or one value for the first state. */
  private initialFrom(cell: TfCell, init: TfModelValue | undefined, batch: number): Map<string, tf.Tensor> {
    const names = cell.ir.states.map((s) => s.name);
    if (!init) return new Map();
    if (init.kind === "states") return new Map([...init.states.values()].map((t, i) => [names[i]!, t]));
    if (init.kind === "one") return new Map([[names[0]!, batchedOf(init, batch)]]);
    throw new Error("internal: a sequence as initial state");
  }

  /** Each scan's history after its last step, by node: what a streaming caller carries into the next call. */
  readonly histories = new Map<number, History>();

  /** How every scan ran in the last `run`, by node. */
  readonly paths = new Map<number, ScanPath>();
  private readonly kernels = new Map<string, FusedScan | string>();

  /** The fused kernel of a layer, or why there is none. */
  private kernelFor(layer: string): FusedScan | string {
    let k = this.kernels.get(layer);
    if (k === undefined) {
      const cell = this.cells.get(layer)!;
      const why = this.opts.optimize === false ? "the IR passes are off (--no-passes)" : fusedUnsupported(cell.ir);
      k = why ?? new FusedScan(cell.ir, cell.env);
      this.kernels.set(layer, k);
    }
    return k;
  }

  private scan(n: Node, v: readonly TfModelValue[], batch: number, carried: History | undefined, streaming = false, training = false): TfSeq {
    const k = this.cells.get(n.attrs.layer!)!.ir.inputs.length;
    const xs = n.args.slice(0, k).map((i) => v[i] as TfSeq);
    const layer = n.attrs.layer!;
    const why = n.op === Op.Map ? "no states to carry: its steps run as one batch" : this.opts.fused === false ? "fused kernels are off"
      : streaming || carried ? "streaming keeps each step's history"
      : xs[0]!.steps.length < MIN_STEPS_TO_HOIST ? `${xs[0]!.steps.length} step${xs[0]!.steps.length === 1 ? "" : "s"}: too short to repay the kernel's setup` : undefined;
    const kernel = why ?? this.kernelFor(layer);
    const kind = n.op === Op.Map ? "map" : "scan";
    this.paths.set(n.id, typeof kernel === "string" ? { kind, layer, fused: false, why: kernel }
      : { kind, layer, fused: true, why: training ? "one fused op forward, backpropagation through time as its gradient" : "one fused op (a forward pass alone: nothing kept for a gradient)" });
    if (typeof kernel !== "string") {
      const cell = this.cells.get(layer)!;
      const r = fusedScanOp(kernel, {
        xs: xs.map((x) => x.steps), init: this.initialFrom(cell, n.attrs.hasInit ? v[n.args[k]!] : undefined, batch), params: cell.params,
        lengths: xs[0]!.lengths.some((l) => l !== xs[0]!.steps.length) ? xs[0]!.lengths : undefined, reverse: !!n.attrs.reverse, batch, training,
      });
      this.finals.set(n.id, r.finals);
      return { kind: "seq", steps: r.steps, lengths: xs[0]!.lengths };
    }
    // Hoisting pays for its setup (stacking, static transposes) only over several steps.
    const cell = (xs[0]!.steps.length < MIN_STEPS_TO_HOIST ? this.plainCells : this.cells).get(n.attrs.layer!)!;
    const lengths = xs[0]!.lengths;
    const T = xs[0]!.steps.length;
    const masked = lengths.some((l) => l !== T);
    let history: History = carried ?? cell.initialHistory(batch, this.initialFrom(cell, n.attrs.hasInit ? v[n.args[k]!] : undefined, batch));
    const steps: tf.Tensor[] = new Array(T);
    // Hoisting: the state-free part computed before the loop, a block of about √T steps at a time (time-major,
    // [steps*B, …]): one large product per block, and each step's part cut from its block, not from the whole.
    const pre = this.opts.optimize === false || T < MIN_STEPS_TO_HOIST ? undefined
      : blocksOf(xs[0]!).flatMap((b, k) => TfCell.perStep(cell.precompute(new Map(cell.ir.inputs.map((inp, j) => [inp.name, blocksOf(xs[j]!)[k]!.t])), b.steps * batch), b.steps));
    for (let s = 0; s < T; s++) {
      const t = n.attrs.reverse ? T - 1 - s : s;
      const stepHistory = n.op === Op.Map ? cell.initialHistory(batch) : history;
      const r = cell.step(new Map(cell.ir.inputs.map((inp, j) => [inp.name, xs[j]!.steps[t]!])), stepHistory, batch, pre?.[t]);
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
    this.finals.set(n.id, new Map([...history].map(([name, h]) => [name, h[0]!])));
    if (n.op === Op.Scan) this.histories.set(n.id, history);
    return { kind: "seq", steps, lengths };
  }

  private generate(n: Node, v: readonly TfModelValue[], batch: number, seed: number): TfSeq {
    const cell = this.cells.get(n.attrs.layer!)!;
    let history = cell.initialHistory(batch, this.initialFrom(cell, n.attrs.hasInit ? v[n.args[0]!] : undefined, batch));
    const tokens = n.dtype === "int";
    let x = tokens ? tf.fill([batch], n.attrs.startToken!, "int32") : batchedOf(v[n.args[n.attrs.hasInit ? 1 : 0]!] as TfValue, batch);
    const steps: tf.Tensor[] = [];
    const lengths: number[] = Array(batch).fill(-1);
    for (let k = 0; k < n.attrs.steps!; k++) {
      const r = cell.step(new Map([[cell.ir.inputs[0]!.name, x]]), history, batch);
      history = r.history;
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
    this.finals.set(n.id, new Map([...history].map(([name, h]) => [name, h[0]!])));
    return { kind: "seq", steps: clean, lengths: final };
  }
}
