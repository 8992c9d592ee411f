// One step of a cell as ONNX nodes over a batch: every IR op's lowering, values that differ by example carrying a
// leading batch axis, the others (params, constants) broadcast by ONNX's numpy rules.
import { RnncError } from "../../diagnostics/errors.js";
import type { CellIR, Node } from "../../ir/ir.js";
import { Op } from "../../ir/ops.js";
import type { DimEnv } from "../../runtime/dims.js";
import type { OnnxGraph } from "./graph.js";
import { lowerOp, type Operand } from "./lowering.js";
import { lengthSymbols, maskedOver } from "../../ir/whole-inputs.js";
import { attr, DType } from "./proto.js";

/** Where a step's leaves come from in the graph being built. */
export interface StepLeaves {
  input(name: string): string;
  state(name: string, lag: number): string;
  /** An int64 [1] tensor holding the batch size (for broadcasting a shared value to every example). */
  batch(): string;
  /** The mask [batch, S] (float, 1 at each example's own positions) of the sequences of length `symbol` read whole. */
  mask?(symbol: string): string;
}

/** Lowers the nodes of `ir` reachable from anything (all of them, in order) into `g`; returns each node's value name. */
export function lowerStep(ir: CellIR, env: DimEnv, g: OnnxGraph, leaves: StepLeaves, layer: string): string[] {
  const v: string[] = [];
  const scalarF = (x: number) => g.init("c", [], [x]);
  const symbols = lengthSymbols(ir);

  for (const n of ir.nodes) {
    const B = n.batched ? 1 : 0; // the per-example axes start here
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
    // softmax, log_softmax, sum and mean over a sequence read whole see only each example's own positions.
    const over = maskedOver(n, ir.nodes, symbols);
    if (over !== undefined) {
      v[n.id] = maskedReduction(g, n.op, v[n.args[0]!]!, ir.nodes[n.args[0]!]!.shape.length, leaves.mask!(over));
      continue;
    }
    // Arguments read when used: a param's plain form is made only if something takes it.
    const args: Operand[] = n.args.map((id) => ({ get name() { return v[id]!; }, lead: ir.nodes[id]!.batched ? 1 : 0, rank: ir.nodes[id]!.shape.length }));
    v[n.id] = lowerOp({
      g, n, args, env, lead: B, batch: leaves.batch,
      transposedParam: (k) => { const p = ir.nodes[n.args[k]!]!; return p.op === Op.Param ? g.weightInit(layer, p.attrs.name!, true) : undefined; },
      cannot: (why) => unsupported(n, why),
    });
  }
  return v;

  function unsupported(n: Node, why: string): RnncError {
    return new RnncError("RNN0801", `cannot export layer \`${layer}\` (cell ${ir.name}) to ONNX: \`${n.op}\`: ${why}`, [], "run it with rnnc run or compile it to js or tfjs instead");
  }
}

/** A reduction over the last axis (rank `rank` per example) with the positions past each example's length left out. */
function maskedReduction(g: OnnxGraph, op: Op, x: string, rank: number, mask: string): string {
  const m = rank > 1 ? g.node("Unsqueeze", [mask, g.ints(Array.from({ length: rank - 1 }, (_, k) => k + 1))])[0]! : mask;
  if (op === Op.Softmax || op === Op.LogSoftmax) {
    const on = g.node("Cast", [m], 1, [attr("to", DType.BOOL)])[0]!;
    const shut = g.node("Where", [on, x, g.init("c", [], [-1e30])])[0]!;
    const y = g.node(op === Op.Softmax ? "Softmax" : "LogSoftmax", [shut], 1, [attr("axis", -1)])[0]!;
    return op === Op.Softmax ? g.node("Mul", [y, m])[0]! : y;
  }
  const sum = g.node("ReduceSum", [g.node("Mul", [x, m])[0]!, g.ints([-1])], 1, [attr("keepdims", 0)])[0]!;
  if (op === Op.Sum) return sum;
  const count = g.node("ReduceSum", [m, g.ints([-1])], 1, [attr("keepdims", 0)])[0]!;
  return g.node("Div", [sum, count])[0]!;
}
