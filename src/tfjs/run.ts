// Runs cells and models on tfjs from the interpreter's tensors and returns results in the interpreter's form.
import { setOwn } from "../runtime/record.js";
import * as tf from "@tensorflow/tfjs";
import { evalDim } from "../ir/dims.js";
import type { CellIR, ModelIR } from "../ir/ir.js";
import type { DimEnv } from "../runtime/dims.js";
import type { CellRunInput, CellRunResult, ModelOutput, ModelRunInput } from "../runtime/run-types.js";
import type { Tensor } from "../runtime/tensor.js";
import { concreteShape } from "../runtime/dims.js";
import { TfCell, type History } from "./cell.js";
import { TfModel, type LoweringOptions, type TfModelValue } from "./model.js";
import { optimize } from "../passes/pipeline.js";

/** Runs `f` in a tfjs scope that frees every tensor made inside; `f` returns plain data. */
export function scoped<T>(f: () => T): T {
  let result: T | undefined;
  tf.tidy(() => { result = f(); });
  return result!;
}

/**
 * One of the interpreter's tensors as a tfjs tensor, from a typed copy of its data (tfjs' cpu backend keeps the array it
 * is given, so a copy: nothing the caller changes later reaches it; a plain array of the numbers cost a tenth of a step).
 */
export const toTf = (t: Tensor, dtype: "float32" | "int32" = "float32"): tf.Tensor =>
  tf.tensor(dtype === "int32" ? new Int32Array(t.data) : new Float32Array(t.data), [...t.shape], dtype);
export const fromTf = (t: tf.Tensor): Tensor => ({ shape: [...t.shape], data: Float32Array.from(t.dataSync()) });

/** Param tensors as tfjs variables named after the params (trainable unless `trainable` is false). */
export function variablesOf(params: ReadonlyMap<string, Tensor>, trainable = true): Map<string, tf.Variable> {
  return new Map([...params].map(([k, t]) => {
    const init = toTf(t);
    const v = tf.variable(init, trainable, `${k}_${variableCounter++}`);
    init.dispose();
    return [k, v];
  }));
}
let variableCounter = 0;

/** A model's outputs in tfjs: sequences stacked [batch, time, ...] and zero past each length, states by name. */
export interface TfOutput { readonly tensor?: tf.Tensor; readonly lengths?: number[]; readonly states?: Record<string, tf.Tensor> }

/** The named outputs from a run's values (inside a tidy). */
export function collectOutputs(ir: ModelIR, env: DimEnv, values: readonly TfModelValue[], batch: number): Record<string, TfOutput> {
  const out: Record<string, TfOutput> = {};
  for (const o of ir.outputs) {
    const v = values[o.node]!;
    if (v.kind === "states") setOwn(out, o.name, { states: Object.fromEntries(v.states) });
    else if (v.kind === "one") setOwn(out, o.name, { tensor: v.batched ? v.t : tf.broadcastTo(v.t, [batch, ...v.t.shape]) });
    else {
      // A shape over a sequence's positions (attention weights [S]) is the tensor's own: no dim gives it.
      const declared = ir.nodes[o.node]!.shape;
      const shape = declared.some((d) => evalDim(d, env) === undefined) ? v.tm.shape.slice(1) : concreteShape(declared, env, o.name);
      const T = v.T;
      const B = v.lengths.length;
      // Time-major [T·B, …] to batch-first [B, T, …].
      const stacked = T ? tf.transpose(tf.reshape(v.tm, [T, B, ...shape]), [1, 0, ...shape.map((_, k) => k + 2)]) : tf.zeros([B, 0, ...shape], v.tm.dtype);
      // Zero past each length; with no example shorter than T there is nothing to zero (no mask, no product).
      if (v.lengths.every((l) => l >= T)) {
        setOwn(out, o.name, { tensor: stacked, lengths: [...v.lengths] });
        continue;
      }
      const mask = tf.tensor2d(v.lengths.flatMap((l) => Array.from({ length: T }, (_, t) => (t < l ? 1 : 0))), [B, T], stacked.dtype as "int32" | "float32");
      setOwn(out, o.name, { tensor: tf.mul(stacked, tf.reshape(mask, [B, T, ...shape.map(() => 1)])), lengths: [...v.lengths] });
    }
  }
  return out;
}

export function runModelTf(ir: ModelIR, env: DimEnv, params: ReadonlyMap<string, Tensor>, input: ModelRunInput, lowering: LoweringOptions = {}): Record<string, ModelOutput> {
  const vars = variablesOf(params, false);
  try {
    return scoped(() => {
      const inputs = Object.fromEntries(ir.inputs.map((i) => [i.name, toTf(input.inputs[i.name]!, i.dtype === "int" ? "int32" : "float32")]));
      const values = new TfModel(ir, env, vars, lowering).run({ inputs, ...(input.lengths ? { lengths: input.lengths } : {}), ...(input.seed !== undefined ? { seed: input.seed } : {}) });
      const out: Record<string, ModelOutput> = {};
      for (const [name, o] of Object.entries(collectOutputs(ir, env, values, input.inputs[ir.inputs[0]!.name]!.shape[0]!)))
        setOwn(out, name, o.states ? { states: Object.fromEntries(Object.entries(o.states).map(([k, t]) => [k, fromTf(t)])) } : { tensor: fromTf(o.tensor!), ...(o.lengths ? { lengths: o.lengths } : {}) });
      return out;
    });
  } finally {
    for (const v of vars.values()) v.dispose();
  }
}

export function runCellTf(ir: CellIR, env: DimEnv, params: ReadonlyMap<string, Tensor>, input: CellRunInput, lowering: LoweringOptions = {}): CellRunResult {
  const vars = variablesOf(params, false);
  try {
    return scoped(() => {
      const cell = new TfCell(lowering.optimize === false ? ir : optimize(ir, lowering.disabled ?? new Set()), env, vars);
      const xs = Object.fromEntries(ir.inputs.map((i) => [i.name, tf.unstack(toTf(input.inputs[i.name]!, i.dtype === "int" ? "int32" : "float32"), 1)]));
      const B = ir.inputs.length ? input.inputs[ir.inputs[0]!.name]!.shape[0]! : Object.values(input.initialStates ?? {})[0]?.shape[0] ?? 1;
      const T = ir.inputs.length ? input.inputs[ir.inputs[0]!.name]!.shape[1]! : input.steps ?? 0;
      let history: History = cell.initialHistory(B, new Map(Object.entries(input.initialStates ?? {}).map(([k, t]) => [k, toTf(t)])));
      const outs = new Map(ir.outputs.map((o) => [o.name, [] as tf.Tensor[]]));
      for (let t = 0; t < T; t++) {
        const r = cell.step(new Map(ir.inputs.map((i) => [i.name, xs[i.name]![t]!])), history, B);
        history = r.history;
        for (const [k, y] of r.outputs) outs.get(k)!.push(y);
      }
      return {
        outputs: Object.fromEntries([...outs].map(([k, ys]) => [k, fromTf(tf.stack(ys, 1))])),
        states: Object.fromEntries([...history].map(([k, h]) => [k, fromTf(h[0]!)])),
      };
    });
  } finally {
    for (const v of vars.values()) v.dispose();
  }
}
