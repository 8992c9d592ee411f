// Chooses weight layouts: W @ x with a static matrix W and a per-example vector x becomes x @ transpose(W), so that
// batched backends multiply [B, k] by [k, m] with no transposed operand at each step (the transpose is static: it is
// computed once, outside the loop). On tfjs' wasm backend a transposed operand makes a product several times slower.
import type { CellIR } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { copy, rebuild } from "./rebuild.js";

export function chooseLayouts(ir: CellIR): CellIR {
  const transposed = new Map<number, number>();
  return rebuild(ir, (n, e) => {
    if (n.op !== Op.MatMul) return copy(n, e);
    const [w, x] = n.args.map((a) => ir.nodes[a]!);
    if (!w || !x || w.batched || !x.batched || w.shape.length !== 2 || x.shape.length !== 1) return copy(n, e);
    let wt = transposed.get(w.id);
    if (wt === undefined) {
      wt = e.add(Op.Transpose, [e.map(w.id)], [w.shape[1]!, w.shape[0]!], w.span);
      transposed.set(w.id, wt);
    }
    return e.add(Op.MatMul, [e.map(x.id), wt], n.shape, n.span);
  });
}
