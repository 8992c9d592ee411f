// One step of a cell as ONNX nodes over a batch: every IR op's lowering, values that differ by example carrying a
// leading batch axis, the others (params, constants) broadcast by ONNX's numpy rules.
import { RnncError } from "../../diagnostics/errors.js";
import { evalDim } from "../../ir/dims.js";
import type { CellIR, Node, NodeId } from "../../ir/ir.js";
import { Op } from "../../ir/ops.js";
import type { DimEnv } from "../../runtime/dims.js";
import type { OnnxGraph } from "./graph.js";
import { attr, DType } from "./proto.js";

/** Where a step's leaves come from in the graph being built. */
export interface StepLeaves {
  input(name: string): string;
  state(name: string, lag: number): string;
  /** An int64 [1] tensor holding the batch size (for broadcasting a shared value to every example). */
  batch(): string;
}

/** Unary ops with an ONNX op of the same meaning (rnnc's definitions: src/interp/kernels.ts). */
export const unary: Partial<Record<Op, string>> = {
  [Op.Neg]: "Neg", [Op.Sigmoid]: "Sigmoid", [Op.Tanh]: "Tanh", [Op.Relu]: "Relu", [Op.Elu]: "Elu", [Op.Selu]: "Selu",
  [Op.Softplus]: "Softplus", [Op.Softsign]: "Softsign", [Op.Exp]: "Exp", [Op.Log]: "Log", [Op.Abs]: "Abs", [Op.Sqrt]: "Sqrt",
  [Op.Sin]: "Sin", [Op.Cos]: "Cos", [Op.Identity]: "Identity", [Op.HardSigmoid]: "HardSigmoid",
};
export const binary: Partial<Record<Op, string>> = {
  [Op.Add]: "Add", [Op.Sub]: "Sub", [Op.Mul]: "Mul", [Op.Div]: "Div", [Op.Maximum]: "Max", [Op.Minimum]: "Min", [Op.Pow]: "Pow",
};

/** Lowers the nodes of `ir` reachable from anything (all of them, in order) into `g`; returns each node's value name. */
export function lowerStep(ir: CellIR, env: DimEnv, g: OnnxGraph, leaves: StepLeaves, layer: string): string[] {
  const v: string[] = [];
  const dims = (n: Node) => n.shape.map((d) => evalDim(d, env)!);
  const scalarF = (x: number) => g.init("c", [], [x]);
  /** `id`'s value with axes inserted after the batch axis so that it has per-example rank `rank` (batched values only). */
  const aligned = (id: NodeId, rank: number): string => {
    const a = ir.nodes[id]!;
    if (!a.batched || a.shape.length >= rank) return v[id]!;
    return g.node("Unsqueeze", [v[id]!, g.ints(Array.from({ length: rank - a.shape.length }, (_, k) => k + 1))])[0]!;
  };
  /** A shared value repeated for every example: [batch, …its shape]. */
  const batchedOf = (id: NodeId): string => {
    const a = ir.nodes[id]!;
    if (a.batched) return v[id]!;
    const [shape] = g.node("Concat", [leaves.batch(), g.ints(dims(a))], 1, [attr("axis", 0)]);
    return g.node("Expand", [g.node("Unsqueeze", [v[id]!, g.ints([0])])[0]!, shape!])[0]!;
  };
  const one = (op: string, inputs: string[], attributes: object[] = []) => g.node(op, inputs, 1, attributes)[0]!;

  for (const n of ir.nodes) {
    const x = (k: number): string => v[n.args[k]!]!; // read when used: a param's plain form is made only if something takes it
    const B = n.batched ? 1 : 0; // the per-example axes start here
    const R = n.shape.length;
    switch (n.op) {
      case Op.Input: v[n.id] = leaves.input(n.attrs.name!); continue;
      case Op.StateRead: v[n.id] = leaves.state(n.attrs.name!, n.attrs.lag ?? 1); continue;
      case Op.Param: Object.defineProperty(v, n.id, { get: () => g.weightInit(layer, n.attrs.name!), enumerable: true }); continue; // made on first use
      case Op.Const: {
        let made: string | undefined; // made on first use (a state's start, say, is no value of the step)
        Object.defineProperty(v, n.id, { get: () => (made ??= scalarF(n.attrs.value!)), enumerable: true });
        continue;
      }
      default: break;
    }
    const u = unary[n.op], b = binary[n.op];
    if (u) { v[n.id] = one(u, [x(0)]); continue; }
    if (b) { v[n.id] = one(b, [aligned(n.args[0]!, R), aligned(n.args[1]!, R)]); continue; }
    switch (n.op) {
      case Op.HardTanh: v[n.id] = one("Clip", [x(0), scalarF(-1), scalarF(1)]); break;
      case Op.Square: v[n.id] = one("Mul", [x(0), x(0)]); break;
      case Op.Swish: v[n.id] = one("Mul", [x(0), one("Sigmoid", [x(0)])]); break;
      case Op.Step: v[n.id] = one("Cast", [one("Greater", [x(0), scalarF(0)])], [attr("to", DType.FLOAT)]); break;
      case Op.Gelu: {
        // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), the tanh form rnnc uses
        const cube = one("Mul", [x(0), one("Mul", [x(0), x(0)])]);
        const inner = one("Mul", [scalarF(Math.sqrt(2 / Math.PI)), one("Add", [x(0), one("Mul", [scalarF(0.044715), cube])])]);
        v[n.id] = one("Mul", [one("Mul", [scalarF(0.5), x(0)]), one("Add", [scalarF(1), one("Tanh", [inner])])]);
        break;
      }
      case Op.Softmax: case Op.LogSoftmax: v[n.id] = one(n.op === Op.Softmax ? "Softmax" : "LogSoftmax", [x(0)], [attr("axis", -1)]); break;
      case Op.Sum: case Op.Mean: {
        const a = ir.nodes[n.args[0]!]!;
        const axes = Array.from({ length: a.shape.length }, (_, k) => k + (a.batched ? 1 : 0));
        v[n.id] = axes.length ? one(n.op === Op.Sum ? "ReduceSum" : "ReduceMean", [x(0), g.ints(axes)], [attr("keepdims", 0)]) : x(0);
        break;
      }
      case Op.MatMul: v[n.id] = matmul(n); break;
      case Op.Concat: v[n.id] = one("Concat", n.args.map((a) => (n.batched ? batchedOf(a) : v[a]!)), [attr("axis", B)]); break;
      case Op.Gather: {
        if (ir.nodes[n.args[0]!]!.batched) throw unsupported(n, "a table that differs by example");
        v[n.id] = one("Gather", [x(0), x(1)], [attr("axis", 0)]);
        break;
      }
      case Op.Transpose: v[n.id] = one("Transpose", [x(0)], [attr("perm", n.batched ? [0, 2, 1] : [1, 0])]); break;
      case Op.Slice: {
        const s = evalDim(n.attrs.start!, env)!, e = evalDim(n.attrs.end!, env)!;
        v[n.id] = one("Slice", [x(0), g.ints([s]), g.ints([e]), g.ints([B])]);
        break;
      }
      case Op.Reshape: v[n.id] = one("Reshape", [x(0), g.ints([...(n.batched ? [0] : []), ...dims(n)])]); break;
      case Op.BroadcastTo: v[n.id] = one("Expand", [aligned(n.args[0]!, R), g.ints([...(n.batched ? [1] : []), ...dims(n)])]); break;
      case Op.OneHot: v[n.id] = one("OneHot", [x(0), g.ints([evalDim(n.attrs.depth!, env)!], true), g.init("onoff", [2], [0, 1])], [attr("axis", -1)]); break;
      default: throw unsupported(n, "this op has no ONNX form yet");
    }
  }
  return v;

  function matmul(n: Node): string {
    const [a, b] = [ir.nodes[n.args[0]!]!, ir.nodes[n.args[1]!]!];
    // A shared matrix times a vector per example: one product over the batch against the matrix's transpose.
    if (a.shape.length === 2 && b.shape.length === 1 && !a.batched && b.batched && a.op === Op.Param) return one("MatMul", [v[b.id]!, g.weightInit(layer, a.attrs.name!, true)]);
    const [xa, xb] = [v[a.id]!, v[b.id]!];
    if (a.shape.length === 2 && b.shape.length === 1 && !a.batched && b.batched) return one("MatMul", [xb, one("Transpose", [xa], [attr("perm", [1, 0])])]);
    if (a.shape.length === 1 && b.shape.length === 2 && a.batched && !b.batched) return one("MatMul", [xa, xb]);
    // Otherwise numpy's matmul with the vectors made matrices and the added axis taken out again.
    const ua = a.shape.length === 1 ? one("Unsqueeze", [xa, g.ints([-2])]) : xa;
    const ub = b.shape.length === 1 ? one("Unsqueeze", [xb, g.ints([-1])]) : xb;
    const squeeze = [...(a.shape.length === 1 ? [-2] : []), ...(b.shape.length === 1 ? [-1] : [])];
    const p = one("MatMul", [ua, ub]);
    return squeeze.length ? one("Squeeze", [p, g.ints(squeeze)]) : p;
  }

  function unsupported(n: Node, why: string): RnncError {
    return new RnncError("RNN0801", `cannot export layer \`${layer}\` (cell ${ir.name}) to ONNX: \`${n.op}\`: ${why}`, [], "run it with rnnc run or compile it to js or tfjs instead");
  }
}
