// Model-level ops between layers (bidirectional's merges, sums of outputs, slices …) on values with one leading axis
// (batch) or two (batch, time), or none (constants).
import { RnncError } from "../../diagnostics/errors.js";
import type { Node } from "../../ir/ir.js";
import { Op } from "../../ir/ops.js";
import type { DimEnv } from "../../runtime/dims.js";
import type { OnnxGraph } from "./graph.js";
import { lowerOp, type Operand } from "./lowering.js";

export type { Operand };

export function lowerModelOp(g: OnnxGraph, n: Node, args: readonly Operand[], env: DimEnv): string {
  if (n.op === Op.Const) return g.init("c", [], [n.attrs.value!]);
  const cannot = (why: string) => new RnncError("RNN0801", `cannot export \`${n.op}\` between layers to ONNX: ${why}`, [], "run it with rnnc run or compile it to js or tfjs instead");
  const withLead = args.find((a) => a.lead > 0);
  return lowerOp({
    g, n, args, env, lead: Math.max(0, ...args.map((a) => a.lead)), cannot,
    batch: () => { if (!withLead) throw cannot("no value gives the batch size"); return g.batch(withLead.name); },
  });
}
