// The pass driver's rebuild helper: walks a cell's nodes in order and lets a rule emit replacements, then remaps every reference.
import type { Span } from "../ast/nodes.js";
import type { Shape } from "../ir/dims.js";
import type { Attrs, CellIR, Node, NodeId } from "../ir/ir.js";
import type { Op } from "../ir/ops.js";
import { NodeBuilder } from "../ir/builder.js";

export interface Emitter {
  /** Adds a node (args are new ids) and returns its new id. */
  add(op: Op, args: readonly NodeId[], shape: Shape, span: Span, attrs?: Attrs, dtype?: "float" | "int"): NodeId;
  /** The new id of an old node already visited. */
  map(old: NodeId): NodeId;
  /** The new node for a new id. */
  node(id: NodeId): Node;
}

/**
 * Rebuilds `ir`, calling `rule` on each old node (in order) with an emitter; the rule returns the new id standing for
 * that node (a copy, a replacement, or an earlier node). A leaf asked for early is copied then, and only once.
 */
export function rebuild(ir: CellIR, rule: (n: Node, e: Emitter) => NodeId, keep: (n: Node) => boolean = () => true): CellIR {
  const b = new NodeBuilder();
  const map = new Map<NodeId, NodeId>();
  const e: Emitter = {
    add: (op, args, shape, span, attrs = {}, dtype = "float") => b.add(op, args, shape, span, attrs, dtype),
    map: (old) => {
      let id = map.get(old);
      if (id === undefined) {
        // A leaf (param, input, state read, constant) may be needed early, e.g. a weight stacked with an earlier one.
        const n = ir.nodes[old]!;
        if (n.args.length) throw new Error(`internal: node %${old} used before it was rebuilt`);
        id = b.add(n.op, [], n.shape, n.span, n.attrs, n.dtype);
        map.set(old, id);
      }
      return id;
    },
    node: (id) => b.nodes[id]!,
  };
  for (const n of ir.nodes) if (keep(n) && !map.has(n.id)) map.set(n.id, rule(n, e));
  return {
    ...ir,
    nodes: b.nodes,
    states: ir.states.map((s) => ({ ...s, init: e.map(s.init), update: e.map(s.update) })),
    values: ir.values.filter((v) => map.has(v.node)).map((v) => ({ ...v, node: e.map(v.node) })),
    outputs: ir.outputs.map((o) => ({ ...o, node: e.map(o.node) })),
  };
}

/** The plain copy of a node with its arguments remapped. */
export function copy(n: Node, e: Emitter): NodeId {
  return e.add(n.op, n.args.map(e.map), n.shape, n.span, n.attrs, n.dtype);
}
