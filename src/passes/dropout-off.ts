// Dropout outside training: each `dropout(x, p)` is x itself (training rewrites it into a product with a mask first).
import type { CellIR } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { copy, rebuild } from "./rebuild.js";

export function dropoutOff(ir: CellIR): CellIR {
  if (!ir.nodes.some((n) => n.op === Op.Dropout)) return ir;
  return rebuild(ir, (n, e) => (n.op === Op.Dropout ? e.map(n.args[0]!) : copy(n, e)));
}
