// Graph helpers over IR nodes: what a set of roots reaches, who reads each node, and the stage (static, per input, per
// state) of every node.
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

/** The nodes that read each node, in node order (only `nodes`' own reads: pass a live subset to leave out dead ones). */
export function usersOf(nodes: Iterable<Node>): Map<NodeId, Node[]> {
  const users = new Map<NodeId, Node[]>();
  for (const n of nodes) for (const a of n.args) {
    const us = users.get(a);
    if (us) us.push(n);
    else users.set(a, [n]);
  }
  return users;
}

/** The nodes the outputs and states of a cell need (earlier passes leave dead nodes for dce to remove). */
export function liveNodes(ir: CellIR): Node[] {
  return reachable(ir.nodes, [...ir.outputs.map((o) => o.node), ...ir.states.flatMap((st) => [st.update, st.init])]);
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
