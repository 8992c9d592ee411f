// Model-level ops between layers (bidirectional's merges, sums of outputs, slices …) on values with one leading axis
// (batch) or two (batch, time), or none (constants).
import { RnncError } from "../../diagnostics/errors.js";
import { evalDim } from "../../ir/dims.js";
import type { Node } from "../../ir/ir.js";
import { Op } from "../../ir/ops.js";
import type { DimEnv } from "../../runtime/dims.js";
import type { OnnxGraph } from "./graph.js";
import { attr } from "./proto.js";
import { binary, unary } from "./step.js";

/** An argument: its value's name, how many leading axes (batch, time) it has, and its own rank. */
export interface Operand { readonly name: string; readonly lead: number; readonly rank: number }

export function lowerModelOp(g: OnnxGraph, n: Node, args: readonly Operand[], env: DimEnv): string {
  const lead = Math.max(0, ...args.map((a) => a.lead));
  const R = n.shape.length;
  const one = (op: string, inputs: string[], attributes: object[] = []) => g.node(op, inputs, 1, attributes)[0]!;
  /** An argument with axes added after its leading ones, up to rank R (so that numpy's trailing alignment is right). */
  const aligned = (a: Operand) => (a.lead && a.rank < R ? one("Unsqueeze", [a.name, g.ints(Array.from({ length: R - a.rank }, (_, k) => a.lead + k))]) : a.name);
  if (n.op === Op.Const) return g.init("c", [], [n.attrs.value!]);
  const u = unary[n.op], b = binary[n.op];
  if (u) return one(u, [args[0]!.name]);
  if (b) return one(b, [aligned(args[0]!), aligned(args[1]!)]);
  switch (n.op) {
    case Op.Softmax: return one("Softmax", [args[0]!.name], [attr("axis", -1)]);
    case Op.LogSoftmax: return one("LogSoftmax", [args[0]!.name], [attr("axis", -1)]);
    case Op.Tanh: return one("Tanh", [args[0]!.name]);
    case Op.Concat:
      if (args.some((a) => a.lead !== lead)) break;
      return one("Concat", args.map((a) => a.name), [attr("axis", lead)]);
    case Op.Slice:
      return one("Slice", [args[0]!.name, g.ints([evalDim(n.attrs.start!, env)!]), g.ints([evalDim(n.attrs.end!, env)!]), g.ints([args[0]!.lead])]);
    default: break;
  }
  throw new RnncError("RNN0801", `cannot export \`${n.op}\` between layers to ONNX: not exported yet`, [], "run it with rnnc run or compile it to js or tfjs instead");
}
