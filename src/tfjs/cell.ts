// A cell lowered to tfjs: one batched step as tfjs ops, params as tf.Variables named after the spec's params.
import * as tf from "@tensorflow/tfjs";
import type { CellIR, Node } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { concreteShape, type DimEnv } from "../runtime/dims.js";
import { reachable, stageOf } from "../ir/graph.js";
import { batchedOf, tfKernel, type TfValue } from "./kernels.js";
import { lengthSymbols, maskedOver, maskInputName, perSequenceNodes } from "../ir/whole-inputs.js";

/** States as histories: index k-1 holds the state k steps back, each [batch, ...shape]. */
export type History = Map<string, tf.Tensor[]>;

/** Values computed ahead of the loop for every step at once, by node. */
export type Precomputed = ReadonlyMap<number, TfValue>;

export class TfCell {
  private readonly stepNodes: Node[];
  private readonly initNodes: Node[];
  readonly stateShapes: Map<string, number[]>;
  /** 0: static, 1: inputs only (hoistable out of a loop), 2: reads a state. */
  private readonly stage: number[];
  /** State-free nodes whose values the state-dependent part (or an output) reads. */
  readonly frontier: readonly number[];

  /** The lengths of the sequences the cell reads whole (`input enc: [S, H]`: S). */
  private readonly lengthSymbols: ReadonlySet<string>;
  /** Nodes that read only params, constants and sequences read whole: the same at every step of a sequence. */
  private readonly perSequence: ReadonlySet<number>;

  /** `params` holds this cell's params under their IR names (a model's are its layer's, prefix removed). */
  constructor(readonly ir: CellIR, readonly env: DimEnv, readonly params: ReadonlyMap<string, tf.Tensor>) {
    this.lengthSymbols = lengthSymbols(ir);
    this.perSequence = this.lengthSymbols.size ? perSequenceNodes(ir) : new Set();
    this.stepNodes = reachable(ir.nodes, [...ir.outputs.map((o) => o.node), ...ir.states.map((s) => s.update)]);
    this.initNodes = reachable(ir.nodes, ir.states.map((s) => s.init));
    this.stateShapes = new Map(ir.states.map((s) => [s.name, concreteShape(s.shape, env, `state ${s.name}`)]));
    this.stage = stageOf(ir);
    const needed = new Set<number>();
    for (const n of this.stepNodes) if (this.stage[n.id] === 2) for (const a of n.args) if (this.stage[a]! < 2) needed.add(a);
    for (const o of ir.outputs) if (this.stage[o.node]! < 2) needed.add(o.node);
    for (const s of ir.states) if (this.stage[s.update]! < 2) needed.add(s.update);
    this.frontier = [...needed].sort((a, b) => a - b);
  }

  /**
   * Computes the state-free part of the step for many steps at once: `inputs` hold all steps stacked along the
   * batch axis (time-major, [T*B, ...]). Returns the frontier's values; batched ones keep that [T*B, ...] layout.
   */
  precompute(inputs: ReadonlyMap<string, tf.Tensor>, rows: number): Precomputed {
    const v: TfValue[] = [];
    for (const n of this.stepNodes) if (this.stage[n.id]! < 2) v[n.id] = this.eval(n, v, rows, (name) => inputs.get(name)!, new Map());
    return new Map(this.frontier.map((id) => [id, v[id]!]));
  }

  /**
   * Splits precomputed values into the steps' own (rows t*B … t*B+B-1) with splits, not a slice per step: the gradient
   * of a split is one concat, where a slice per step would pad a full-size gradient per step.
   */
  static perStep(pre: Precomputed, steps: number): Precomputed[] {
    const parts = [...pre].map(([id, x]) => [id, x.batched ? splitSteps(x.t, steps) : undefined, x] as const);
    return Array.from({ length: steps }, (_, t) => new Map(parts.map(([id, split, x]) => [id, split ? { t: split[t]!, batched: true } : x])));
  }

  /**
   * The values that stay the same at every step of a sequence (params, constants, what reads only them and the
   * sequences read whole), computed once from `inputs`; pass them to each step as `fixed`.
   */
  perSequenceValues(inputs: ReadonlyMap<string, tf.Tensor>, batch: number): Precomputed {
    const v: TfValue[] = [];
    const out = new Map<number, TfValue>();
    for (const n of this.stepNodes) if (this.perSequence.has(n.id)) out.set(n.id, (v[n.id] = this.eval(n, v, batch, (name) => inputs.get(name)!, new Map())));
    return out;
  }

  /** Every state's starting history for a batch: given values, else the declared initial values. */
  initialHistory(batch: number, given: ReadonlyMap<string, tf.Tensor> = new Map()): History {
    const v: TfValue[] = [];
    for (const n of this.initNodes) v[n.id] = this.eval(n, v, batch, () => { throw new Error("internal: input in an initial value"); }, new Map());
    const h: History = new Map();
    for (const s of this.ir.states) {
      const shape = this.stateShapes.get(s.name)!;
      const start = given.get(s.name) ?? tf.broadcastTo(v[s.init]!.t, [batch, ...shape]);
      h.set(s.name, Array.from({ length: Math.max(1, s.maxLag) }, () => start));
    }
    return h;
  }

  /**
   * One step: outputs by name and the advanced history. With `pre`, only the state-dependent part is computed; `fixed`
   * values (perSequenceValues) are taken as they are.
   */
  step(inputs: ReadonlyMap<string, tf.Tensor>, history: History, batch: number, pre?: Precomputed, fixed?: Precomputed): { outputs: Map<string, tf.Tensor>; history: History } {
    const v: TfValue[] = [];
    if (pre) for (const [id, x] of pre) v[id] = x;
    if (fixed) for (const [id, x] of fixed) v[id] = x;
    for (const n of this.stepNodes) if (v[n.id] === undefined && (!pre || this.stage[n.id] === 2)) v[n.id] = this.eval(n, v, batch, (name) => inputs.get(name)!, history);
    const next: History = new Map();
    for (const s of this.ir.states) next.set(s.name, [batchedOf(v[s.update]!, batch), ...history.get(s.name)!].slice(0, Math.max(1, s.maxLag)));
    return { outputs: new Map(this.ir.outputs.map((o) => [o.name, batchedOf(v[o.node]!, batch)])), history: next };
  }

  private eval(n: Node, v: readonly TfValue[], batch: number, input: (name: string) => tf.Tensor, history: History): TfValue {
    const a = n.args.map((i) => v[i]!);
    // A reduction over the positions of a sequence read whole sees only each example's own (the mask [B, S] is given
    // beside the sequence, under maskKey).
    const over = maskedOver(n, this.ir.nodes, this.lengthSymbols);
    if (over !== undefined) return maskedReduction(n.op, a[0]!, input(maskKey(over)));
    switch (n.op) {
      case Op.Input: return { t: input(n.attrs.name!), batched: true };
      case Op.Param: {
        const p = this.params.get(n.attrs.name!);
        if (!p) throw new Error(`internal: no variable for param ${n.attrs.name}`);
        return { t: p, batched: false };
      }
      case Op.StateRead: return { t: history.get(n.attrs.name!)![n.attrs.lag! - 1]!, batched: true };
      default: return tfKernel(n, a, this.env, batch);
    }
  }
}

/** Where a step's inputs hold the mask [B, S] (1 at each example's own positions) of the sequences of length `symbol`. */
export const maskKey = maskInputName;

/** softmax, log_softmax, sum or mean over the last axis, a sequence's positions, with those past each example's length left out. */
function maskedReduction(op: Op, x: TfValue, mask: tf.Tensor): TfValue {
  const B = mask.shape[0]!;
  const t = batchedOf(x, B);
  // The mask [B, S] lined up with [B, …, S].
  const m = tf.reshape(mask, [B, ...Array(t.rank - 2).fill(1), mask.shape[1]!]);
  const on = tf.greater(m, 0);
  if (op === Op.Softmax || op === Op.LogSoftmax) {
    const shut = tf.where(tf.broadcastTo(on, t.shape), t, tf.fill(t.shape, -1e30));
    const y = op === Op.Softmax ? tf.softmax(shut) : tf.logSoftmax(shut);
    return { t: op === Op.Softmax ? tf.mul(y, m) : y, batched: true };
  }
  const sum = tf.sum(tf.mul(t, m), -1);
  return { t: op === Op.Sum ? sum : tf.div(sum, tf.reshape(tf.sum(mask, -1), [B, ...Array(sum.rank - 1).fill(1)])), batched: true };
}

/** A run of consecutive steps, time-major: [steps*B, …]. */
export interface StepBlock { readonly t: tf.Tensor; readonly steps: number }

/**
 * Cuts a time-major [steps*B, …] tensor into blocks of about √steps steps. On tfjs' wasm backend a slice costs time in
 * proportion to the tensor it is cut from (measured: 0.9 ms per [32, 128] step cut from [3200, 128], 0.03 ms from
 * [320, 128]), so steps are cut from blocks, not from the whole: steps·√steps instead of steps².
 */
export function stepBlocks(t: tf.Tensor, steps: number): StepBlock[] {
  const counts = blockSizes(steps);
  if (counts.length === 1) return [{ t, steps }];
  const rows = t.shape[0]! / steps;
  return tf.split(t, counts.map((c) => c * rows), 0).map((b, k) => ({ t: b, steps: counts[k]! }));
}

/** How many steps each block holds: about √steps, the last one fewer. */
export function blockSizes(steps: number): number[] {
  const block = Math.ceil(Math.sqrt(steps));
  if (steps <= block + 1) return [steps];
  const counts: number[] = [];
  for (let s = 0; s < steps; s += block) counts.push(Math.min(block, steps - s));
  return counts;
}

/** Blocks cut into their steps ([B, …] each). */
export function stepsOf(blocks: readonly StepBlock[]): tf.Tensor[] {
  return blocks.flatMap((b) => (b.steps === 1 ? [b.t] : tf.split(b.t, b.steps, 0)));
}

/** A time-major [steps*B, …] tensor cut into its steps, through blocks (see stepBlocks). */
function splitSteps(t: tf.Tensor, steps: number): tf.Tensor[] {
  return stepsOf(stepBlocks(t, steps));
}
