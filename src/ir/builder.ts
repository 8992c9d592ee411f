// Appends immutable IR nodes in dependency order, caching leaves so each param, input and lagged state appears once.
import type { Span } from "../ast/nodes.js";
import type { Shape } from "./dims.js";
import type { Attrs, Node, NodeId } from "./ir.js";
import { Op } from "./ops.js";

export class NodeBuilder {
  readonly nodes: Node[] = [];
  private readonly leaves = new Map<string, NodeId>();

  add(op: Op, args: readonly NodeId[], shape: Shape, span: Span, attrs: Attrs = {}, dtype: "float" | "int" = "float", seq?: string): NodeId {
    const id = this.nodes.length;
    const batched = op === Op.Input || op === Op.StateRead || op === Op.Generate || args.some((a) => this.nodes[a]!.batched);
    this.nodes.push(Object.freeze({ id, op, args: Object.freeze([...args]), shape, dtype, batched, attrs: Object.freeze({ ...attrs }), span, ...(seq ? { seq } : {}) }));
    return id;
  }

  /** A leaf (input, param, lagged state) shared by every use; `span` is that of its declaration. */
  leaf(op: Op.Input | Op.Param | Op.StateRead, name: string, shape: Shape, span: Span, lag?: number, dtype: "float" | "int" = "float"): NodeId {
    const key = `${op}:${name}:${lag ?? ""}`;
    let id = this.leaves.get(key);
    if (id === undefined) {
      id = this.add(op, [], shape, span, lag === undefined ? { name } : { name, lag }, dtype);
      this.leaves.set(key, id);
    }
    return id;
  }

  shape(id: NodeId): Shape {
    return this.nodes[id]!.shape;
  }
}
