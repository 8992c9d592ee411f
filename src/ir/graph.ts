// Graph helpers over IR nodes: what a set of roots reaches, and the stage (static, per input, per state) of every node.
import type { CellIR, Node, NodeId } from "./ir.js";
import { Op } from "./ops.js";

/** Nodes reachable from `roots`, in node (topological) order. */
export function reachable(nodes: readonly Node[], roots: readonly NodeId[]): Node[] {
  const seen = new Set<NodeId>();
  const stack = [...roots];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const a of nodes[id]!.args) stack.push(a);
  }
  return nodes.filter((n) => seen.has(n.id));
}

/** 0: static (params, constants), 1: depends on inputs only, 2: depends on a state. */
export function stageOf(ir: CellIR): number[] {
  const stage: number[] = [];
  for (const n of ir.nodes) {
    if (n.op === Op.StateRead) stage[n.id] = 2;
    else if (n.op === Op.Input) stage[n.id] = 1;
    else stage[n.id] = Math.max(0, ...n.args.map((a) => stage[a]!));
  }
  return stage;
}
