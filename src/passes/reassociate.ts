// Reassociates sums so that terms not depending on states come first: ((params + inputs) + states), which lets the
// input projection and its biases be computed for all steps before the loop.
import { broadcastShape } from "../ir/shapes.js";
import type { CellIR, Node, NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { stageOf } from "../ir/graph.js";
import { copy, rebuild, type Emitter } from "./rebuild.js";

export function reassociateSums(ir: CellIR): CellIR {
  const stage = stageOf(ir);
  const users = new Map<NodeId, number>();
  for (const n of ir.nodes) for (const a of n.args) users.set(a, (users.get(a) ?? 0) + 1);
  const isInnerAdd = (id: NodeId) => ir.nodes[id]!.op === Op.Add && users.get(id) === 1;
  // An inner addition is one term of the sum that uses it: that sum reorders its terms, so it is left alone.
  const inner = new Set<NodeId>();
  for (const n of ir.nodes) if (n.op === Op.Add) for (const a of n.args) if (isInnerAdd(a)) inner.add(a);
  /** The terms of a sum, looking through additions used only by it (without recursion: sums can be long chains). */
  const terms = (n: Node): NodeId[] => {
    const out: NodeId[] = [];
    const todo = [...n.args].reverse();
    while (todo.length) {
      const a = todo.pop()!;
      if (isInnerAdd(a)) for (let k = ir.nodes[a]!.args.length - 1; k >= 0; k--) todo.push(ir.nodes[a]!.args[k]!);
      else out.push(a);
    }
    return out;
  };
  return rebuild(ir, (n, e: Emitter) => {
    if (n.op !== Op.Add || inner.has(n.id)) return copy(n, e);
    const ts = terms(n);
    const stages = new Set(ts.map((t) => stage[t]!));
    if (ts.length < 3 || stages.size < 2) return copy(n, e);
    const ordered = [...ts].sort((a, b) => stage[a]! - stage[b]!);
    let acc = e.map(ordered[0]!);
    for (const t of ordered.slice(1)) {
      const right = e.map(t);
      const r = broadcastShape(e.node(acc).shape, e.node(right).shape);
      if (!r.ok) return copy(n, e); // cannot happen for a well-typed sum; keep the original order
      acc = e.add(Op.Add, [acc, right], r.shape, n.span);
    }
    return acc;
  });
}
