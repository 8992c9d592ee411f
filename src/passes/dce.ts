// Dead-code elimination: drops nodes that no output, state update or initial value depends on.
import type { CellIR, NodeId } from "../ir/ir.js";
import { copy, rebuild } from "./rebuild.js";

export function deadCodeElimination(ir: CellIR): CellIR {
  const live = new Set<NodeId>();
  const stack = [...ir.outputs.map((o) => o.node), ...ir.states.flatMap((s) => [s.update, s.init])];
  while (stack.length) {
    const id = stack.pop()!;
    if (live.has(id)) continue;
    live.add(id);
    stack.push(...ir.nodes[id]!.args);
  }
  return rebuild(ir, copy, (n) => live.has(n.id));
}
