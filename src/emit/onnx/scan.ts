// A scan or map of any cell as ONNX's Scan op: the body is the cell's step (src/emit/onnx/step.ts), states carried
// with every lag the cell reads, padded steps masked (states kept, outputs zero) as the interpreter does.
import { RnncError } from "../../diagnostics/errors.js";
import { evalDim } from "../../ir/dims.js";
import type { CellIR, LayerInfo } from "../../ir/ir.js";
import { Op } from "../../ir/ops.js";
import { optimize } from "../../passes/pipeline.js";
import type { DimEnv } from "../../runtime/dims.js";
import { OnnxGraph } from "./graph.js";
import { attr, DType } from "./proto.js";
import { lowerStep } from "./step.js";
import { wholeLeaves, type Wholes } from "./whole.js";

export interface ScanResult {
  /** The cell's first output at every step, [batch, time, …] (zero at padded steps). */
  readonly ys: string;
  /** Each state's value after the last step of each example, [batch, …], in the cell's state order. */
  readonly finals: readonly string[];
}

/**
 * `xs` (one batch-first [batch, time, …] value per cell input, int64 `lengths` [batch]) through the layer's cell.
 * `init` gives each state's starting value [batch, …] (every lag the cell reads starts there); without it the states
 * start from their declared constants.
 */
export function scanOp(g: OnnxGraph, l: LayerInfo, env: DimEnv, xs: readonly string[], lengths: string, reverse: boolean, init?: readonly string[], wholes: Wholes = new Map()): ScanResult {
  const cell: CellIR = optimize(l.ir);
  // Inputs read whole are read from the enclosing graph at every step; `xs` are the stepped ones, in order.
  const stepped = cell.inputs.filter((i) => i.memory === undefined);
  const whole = wholeLeaves(cell, wholes);
  const shapeOf = (s: CellIR["states"][number]) => s.shape.map((d) => evalDim(d, env)!);
  const lags = cell.states.map((s) => Math.max(1, s.maxLag));
  const B = g.batch(xs[0]!);

  // Starting values, one per state and lag.
  const starts = cell.states.flatMap((s, k) => {
    let v = init?.[k];
    if (!v) {
      const c = cell.nodes[s.init]!;
      if (c.op !== Op.Const) throw new RnncError("RNN0801", `cannot export layer \`${l.name}\` (cell ${cell.name}) to ONNX: state ${s.name} starts from a value computed from params`, [], "give the scan an init, or run it with rnnc run");
      const [shape] = g.node("Concat", [B, g.ints(shapeOf(s))], 1, [attr("axis", 0)]);
      v = g.node("Expand", [g.init("c", [], [c.attrs.value!]), shape!])[0]!;
    }
    return Array.from({ length: lags[k]! }, () => v!);
  });
  // mask[b, t] = t < lengths[b]
  const T = g.node("Squeeze", [g.node("Slice", [g.node("Shape", [xs[0]!])[0]!, g.ints([1]), g.ints([2])])[0]!, g.ints([0])])[0]!;
  const steps = g.node("Range", [g.ints([0], true), T, g.ints([1], true)])[0]!;
  const mask = g.node("Less", [g.node("Unsqueeze", [steps, g.ints([0])])[0]!, g.node("Unsqueeze", [lengths, g.ints([1])])[0]!])[0]!;

  const body = new OnnxGraph(g.shared);
  const stateIn = cell.states.flatMap((s, k) => Array.from({ length: lags[k]! }, (_, j) => body.fresh(`${s.name}_lag${j + 1}`)));
  const inputIn = stepped.map((i) => body.fresh(i.name));
  const maskIn = body.fresh("valid");
  const stateAt = (k: number, lag: number) => stateIn[lags.slice(0, k).reduce((a, b) => a + b, 0) + lag - 1]!;
  let bodyBatch: string | undefined;
  const v = lowerStep(cell, env, body, {
    input: (name) => whole.value(name) ?? inputIn[stepped.findIndex((i) => i.name === name)]!,
    state: (name, lag) => stateAt(cell.states.findIndex((s) => s.name === name), lag),
    batch: () => (bodyBatch ??= body.batch(maskIn)),
    mask: whole.mask,
  }, l.name);
  const keep = (value: string, rank: number, other: string) => {
    const m = rank ? body.node("Unsqueeze", [maskIn, body.ints(Array.from({ length: rank }, (_, k) => k + 1))])[0]! : maskIn;
    return body.node("Where", [m, value, other])[0]!;
  };
  const stateOut = cell.states.flatMap((s, k) => {
    const r = s.shape.length;
    return Array.from({ length: lags[k]! }, (_, j) => keep(j === 0 ? v[s.update]! : stateAt(k, j), r, stateAt(k, j + 1)));
  });
  const outNode = cell.nodes[cell.outputs[0]!.node]!;
  let y = v[outNode.id]!;
  if (!outNode.batched) {
    const [shape] = body.node("Concat", [body.node("Shape", [maskIn])[0]!, body.ints(outNode.shape.map((d) => evalDim(d, env)!))], 1, [attr("axis", 0)]);
    y = body.node("Expand", [y, shape!])[0]!;
  }
  const yOut = keep(y, outNode.shape.length, body.init("zero", [], [0]));
  const untyped = (name: string, elem: number) => ({ name, type: { tensor_type: { elem_type: elem } } });
  const graph = {
    name: `${l.name}_step`,
    node: body.nodes,
    input: [...stateIn.map((n) => untyped(n, DType.FLOAT)), ...inputIn.map((n, k) => untyped(n, stepped[k]!.dtype === "int" ? DType.INT64 : DType.FLOAT)), untyped(maskIn, DType.BOOL)],
    output: [...stateOut.map((n) => untyped(n, DType.FLOAT)), untyped(yOut, DType.FLOAT)],
  };
  const nScan = xs.length + 1;
  const outs = g.node("Scan", [...starts, ...xs, mask], stateOut.length + 1, [
    attr("body", { graph }), attr("num_scan_inputs", nScan),
    attr("scan_input_axes", Array(nScan).fill(1)), attr("scan_output_axes", [1]),
    ...(reverse ? [attr("scan_input_directions", Array(nScan).fill(1)), attr("scan_output_directions", [1])] : []),
  ]);
  const finals = cell.states.map((_, k) => outs[lags.slice(0, k).reduce((a, b) => a + b, 0)]!);
  return { ys: outs[outs.length - 1]!, finals };
}
