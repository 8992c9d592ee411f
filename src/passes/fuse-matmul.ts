// Fuses matrix products that share their right operand (the four LSTM gate products on x, or on h[t-1]) into one
// product with the stacked weights, [4H, I] instead of four [H, I], followed by slices.
import { dimAdd, dimConst, dimEquals, type Dim } from "../ir/dims.js";
import type { CellIR, NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { copy, rebuild } from "./rebuild.js";

export function fuseMatmuls(ir: CellIR): CellIR {
  // Groups: products W @ v with W a static matrix, keyed by v; all W must share the inner dimension.
  const groups = new Map<NodeId, NodeId[]>();
  for (const n of ir.nodes) {
    if (n.op !== Op.MatMul) continue;
    const [w, v] = n.args.map((a) => ir.nodes[a]!);
    if (!w || !v || w.batched || w.shape.length !== 2 || v.shape.length !== 1) continue;
    groups.set(v.id, [...(groups.get(v.id) ?? []), n.id]);
  }
  const fused = new Map<NodeId, { members: NodeId[]; offsets: Dim[] }>();
  for (const [, members] of groups) {
    if (members.length < 2) continue;
    const inner = ir.nodes[ir.nodes[members[0]!]!.args[0]!]!.shape[1]!;
    if (!members.every((m) => dimEquals(ir.nodes[ir.nodes[m]!.args[0]!]!.shape[1]!, inner))) continue;
    let off: Dim = dimConst(0);
    const offsets: Dim[] = [];
    for (const m of members) {
      offsets.push(off);
      off = dimAdd(off, ir.nodes[m]!.shape[0]!);
    }
    for (const m of members) fused.set(m, { members, offsets });
  }
  const product = new Map<string, NodeId>();
  return rebuild(ir, (n, e) => {
    const f = fused.get(n.id);
    if (!f) return copy(n, e);
    const key = f.members.join(",");
    let prod = product.get(key);
    const first = ir.nodes[f.members[0]!]!;
    const total = dimAdd(f.offsets[f.offsets.length - 1]!, ir.nodes[f.members[f.members.length - 1]!]!.shape[0]!);
    if (prod === undefined) {
      // Every member's weight comes before the first member, so all are already rebuilt.
      const weights = f.members.map((m) => e.map(ir.nodes[m]!.args[0]!));
      const inner = ir.nodes[first.args[0]!]!.shape[1]!;
      const stacked = e.add(Op.Concat, weights, [total, inner], first.span);
      prod = e.add(Op.MatMul, [stacked, e.map(first.args[1]!)], [total], first.span);
      product.set(key, prod);
    }
    const k = f.members.indexOf(n.id);
    return e.add(Op.Slice, [prod], n.shape, n.span, { start: f.offsets[k]!, end: dimAdd(f.offsets[k]!, n.shape[0]!) });
  });
}
