// Inlines one application of a layer's cell into the cell or model being built: params and states get the layer's prefix.
import type { Span } from "../ast/nodes.js";
import { substDim, type Dim, type Shape } from "../ir/dims.js";
import type { CellIR, InitSpec, InlinedValue, NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import type { NodeBuilder } from "../ir/builder.js";

export interface InlineSink {
  param(name: string, shape: Shape, init: InitSpec, span: Span): void;
  state(name: string, shape: Shape, init: NodeId, update: NodeId, maxLag: number, span: Span): void;
  /** The layer inlined, after its params and states. */
  layer?(prefix: string, inner: CellIR, inputs: readonly NodeId[], values: readonly InlinedValue[]): void;
}

export function substShape(s: Shape, subst: ReadonlyMap<string, Dim | undefined>): Shape {
  return s.map((d) => substDim(d, subst)!);
}

/**
 * Copies `inner`'s nodes into `b` with its dims replaced by `subst`, its inputs bound to `inputs` (in declaration
 * order), params and states renamed `prefix.name`. Returns the outer node of each output. Every copied node gets
 * the call site's span, so later errors point at the user's line.
 */
export function inlineCell(
  inner: CellIR, prefix: string, subst: ReadonlyMap<string, Dim | undefined>, inputs: readonly NodeId[],
  b: NodeBuilder, sink: InlineSink, span: Span,
): Map<string, NodeId> {
  const map = new Map<NodeId, NodeId>();
  const inputIndex = new Map(inner.inputs.map((i, k) => [i.name, k]));
  for (const p of inner.params) sink.param(`${prefix}.${p.name}`, substShape(p.shape, subst), p.init, span);
  for (const n of inner.nodes) {
    const shape = substShape(n.shape, subst);
    let id: NodeId;
    switch (n.op) {
      case Op.Input: id = inputs[inputIndex.get(n.attrs.name!)!]!; break;
      case Op.Param: id = b.leaf(Op.Param, `${prefix}.${n.attrs.name}`, shape, span); break;
      case Op.StateRead: id = b.leaf(Op.StateRead, `${prefix}.${n.attrs.name}`, shape, span, n.attrs.lag); break;
      default: {
        const attrs = n.op === Op.Slice ? { start: substDim(n.attrs.start!, subst)!, end: substDim(n.attrs.end!, subst)! } : n.attrs;
        id = b.add(n.op, n.args.map((a) => map.get(a)!), shape, span, attrs, n.dtype);
      }
    }
    map.set(n.id, id);
  }
  for (const s of inner.states) sink.state(`${prefix}.${s.name}`, substShape(s.shape, subst), map.get(s.init)!, map.get(s.update)!, s.maxLag, span);
  // Its named values, and those of the layers inlined in it, as this IR's nodes (what a trace records and a picture draws).
  const values: InlinedValue[] = [
    ...inner.values.map((v) => ({ ...v, name: `${prefix}.${v.name}`, node: map.get(v.node)!, file: inner.file })),
    ...(inner.inlined ?? []).flatMap((x) => (x.values ?? []).map((v) => ({ ...v, name: `${prefix}.${v.name}`, node: map.get(v.node)! }))),
  ].filter((v) => v.node !== undefined);
  sink.layer?.(prefix, inner, inputs, values);
  return new Map(inner.outputs.map((o) => [o.name, map.get(o.node)!]));
}
