// Reverse-mode differentiation of a cell's step: the IR of its vector-Jacobian product, built from the op table's rules.
import type { Span } from "../ast/nodes.js";
import { dimAdd, dimConst, dimEquals, shapeEquals, shapeToString, type Dim, type Shape } from "../ir/dims.js";
import type { CellIR, InputInfo, Node, NodeId, ValueInfo } from "../ir/ir.js";
import { NodeBuilder } from "../ir/builder.js";
import { reachable } from "../ir/graph.js";
import { Op, computes, info, type Differ, type ShapeAttrs } from "../ir/ops.js";
import { broadcastShape } from "../ir/shapes.js";
import { commonSubexpressions } from "./cse.js";
import { deadCodeElimination } from "./dce.js";

/** The input standing for state `name` read `lag` steps back. */
export const readName = (name: string, lag: number): string => `${name}[t-${lag}]`;
/** The gradient of a value (an input of the VJP for an output's or a new state's, an output of the VJP for the rest). */
export const gradName = (name: string): string => `∂${name}`;
/** The input of the VJP holding the forward step's value of node `id`. */
export const savedName = (id: NodeId): string => `%${id}`;
/** The new value of a state, as an output of the step function. */
export const newStateName = (name: string): string => `${name}[t]`;

/**
 * One step as a function, and its vector-Jacobian product. Both are stateless cells run by any backend:
 * - `step`: inputs are the cell's inputs and its state reads `h[t-k]`; outputs are the cell's outputs and `h[t]`.
 * - `vjp`: inputs are step's inputs, the forward values it reads (`%12`: node 12 of step, see `saved`) and the
 *   gradient of each of step's outputs (`∂y`, `∂h[t]`); outputs are the gradients of step's float inputs (`∂x`,
 *   `∂h[t-1]`) and of every param (`∂W`), per example. Static values (params, work on params) are recomputed.
 */
export interface StepVjp {
  readonly step: CellIR;
  readonly vjp: CellIR;
  /** The state reads, in the order of step's inputs after the cell's own. */
  readonly reads: readonly { readonly state: string; readonly lag: number }[];
  /** The per-example values of step (node ids, ascending) the VJP reads, as inputs named `savedName(id)`. */
  readonly saved: readonly NodeId[];
}

/** The forward step with states made explicit: no state remains, reads are inputs, new values are outputs. */
export function stepFunction(cell: CellIR): { step: CellIR; reads: StepVjp["reads"] } {
  const b = new NodeBuilder();
  const roots = [...cell.outputs.map((o) => o.node), ...cell.states.map((s) => s.update)];
  const map: NodeId[] = [];
  const reads: { state: string; lag: number; info: InputInfo }[] = [];
  for (const n of reachable(cell.nodes, roots)) {
    if (n.op === Op.StateRead) {
      const name = readName(n.attrs.name!, n.attrs.lag!);
      map[n.id] = b.leaf(Op.Input, name, n.shape, n.span);
      reads.push({ state: n.attrs.name!, lag: n.attrs.lag!, info: { name, shape: n.shape, dtype: "float", span: n.span } });
    } else if (n.op === Op.Input || n.op === Op.Param) {
      map[n.id] = b.leaf(n.op, n.attrs.name!, n.shape, n.span, undefined, n.dtype);
    } else {
      map[n.id] = b.add(n.op, n.args.map((a) => map[a]!), n.shape, n.span, n.attrs, n.dtype);
    }
  }
  reads.sort((x, y) => (x.state === y.state ? x.lag - y.lag : cell.states.findIndex((s) => s.name === x.state) - cell.states.findIndex((s) => s.name === y.state)));
  const outputs: ValueInfo[] = [
    ...cell.outputs.map((o) => ({ ...o, node: map[o.node]! })),
    ...cell.states.map((s) => ({ name: newStateName(s.name), node: map[s.update]!, gate: false, span: s.span })),
  ];
  const step: CellIR = {
    name: cell.name, file: cell.file, dims: cell.dims, options: cell.options, params: cell.params, states: [],
    inputs: [...cell.inputs, ...reads.map((r) => r.info)], nodes: b.nodes, values: [], outputs,
  };
  return { step, reads: reads.map(({ state, lag }) => ({ state, lag })) };
}

/** The step function of `cell` and the IR of its vector-Jacobian product. */
export function stepVjp(cell: CellIR): StepVjp {
  const { step, reads } = stepFunction(cell);
  const b = new NodeBuilder();
  let span: Span = step.outputs[0]?.span ?? { start: 0, end: 0 };
  const g: Differ = {
    shape: (id) => b.shape(id),
    c: (value) => b.add(Op.Const, [], [], span, { value }),
    op: (op, args, attrs: ShapeAttrs = {}) => {
      const r = info(op).shape!(args.map((a) => b.shape(a)), { dtypes: args.map((a) => b.nodes[a]!.dtype), attrs });
      if (!r.ok) throw new Error(`internal: derivative rule built an invalid ${op}: ${r.reason}`);
      return b.add(op, args, r.shape, span, attrs);
    },
  };

  // The forward values the rules read: params and static values recomputed (they are hoisted out of any loop),
  // step inputs as they are, every other per-example value an input of the VJP, saved by the forward pass.
  const copies = new Map<NodeId, NodeId>();
  const savedIds: NodeId[] = [];
  const fwd = (id: NodeId): NodeId => {
    let c = copies.get(id);
    if (c !== undefined) return c;
    const n = step.nodes[id]!;
    if (n.op === Op.Param || n.op === Op.Input) c = b.leaf(n.op, n.attrs.name!, n.shape, n.span, undefined, n.dtype);
    else if (!n.batched) c = b.add(n.op, n.args.map(fwd), n.shape, n.span, n.attrs, n.dtype);
    else {
      c = b.leaf(Op.Input, savedName(id), n.shape, n.span, undefined, n.dtype);
      savedIds.push(id);
    }
    copies.set(id, c);
    return c;
  };
  // Only values that depend on a float input or a param carry a gradient.
  const live: boolean[] = [];
  for (const n of step.nodes) live[n.id] = n.dtype === "float" && (n.op === Op.Input || n.op === Op.Param || n.args.some((a) => live[a]));

  // Gradients so far, as segments of the first axis: a value's gradient from its slices (the gates of a stacked
  // product) is then one concat of the pieces, not a sum of zero-padded copies.
  const grads = new Map<NodeId, Segment[]>();
  const accumulate = (target: Node, contribution: NodeId): void => {
    if (!live[target.id]) return;
    const fitted = fit(g, contribution, target.shape);
    const prev = grads.get(target.id);
    const next = segmentsOf(b.nodes, fitted);
    const merged = prev && mergeSegments(g, prev, next);
    grads.set(target.id, !prev ? next : merged ?? [{ len: target.shape[0] ?? dimConst(1), node: g.op(Op.Add, [materialize(g, prev, target.shape), fitted]) }]);
  };
  const gradOf = (id: NodeId): NodeId | undefined => {
    const segs = grads.get(id);
    return segs && materialize(g, segs, step.nodes[id]!.shape);
  };
  const seeds: InputInfo[] = step.outputs.map((o) => ({ name: gradName(o.name), shape: step.nodes[o.node]!.shape, dtype: "float", span: o.span }));
  step.outputs.forEach((o, k) => accumulate(step.nodes[o.node]!, b.leaf(Op.Input, seeds[k]!.name, seeds[k]!.shape, o.span)));

  for (let id = step.nodes.length - 1; id >= 0; id--) {
    const n = step.nodes[id]!;
    if (!n.args.length) continue;
    const dy = gradOf(id);
    if (dy === undefined) continue;
    const facts = info(n.op);
    if (!computes(facts)) throw new Error(`internal: op ${n.op} in a step has no derivative rule`);
    const rule = facts.vjp;
    span = n.span;
    rule(g, n.args.map(fwd), fwd(n.id), dy, n.attrs).forEach((d, k) => {
      if (d !== undefined) accumulate(step.nodes[n.args[k]!]!, d);
    });
  }

  const leaves = step.nodes.filter((n) => (n.op === Op.Input || n.op === Op.Param) && n.dtype === "float");
  const wrt = [...step.inputs.filter((i) => i.dtype === "float").map((i) => ({ name: i.name, shape: i.shape, span: i.span, op: Op.Input })),
    ...step.params.map((p) => ({ name: p.name, shape: p.shape, span: p.span, op: Op.Param }))];
  const outputs: ValueInfo[] = wrt.map((w) => {
    const leaf = leaves.find((n) => n.op === w.op && n.attrs.name === w.name);
    span = w.span;
    const d = leaf && gradOf(leaf.id);
    return { name: gradName(w.name), node: d ?? g.op(Op.BroadcastTo, [g.c(0)], { shape: w.shape }), gate: false, span: w.span };
  });
  const savedInfos: InputInfo[] = savedIds.map((id) => ({ name: savedName(id), shape: step.nodes[id]!.shape, dtype: step.nodes[id]!.dtype, span: step.nodes[id]!.span }));
  const full: CellIR = { ...step, name: `${cell.name}.vjp`, inputs: [...step.inputs, ...savedInfos, ...seeds], nodes: b.nodes, outputs };
  const vjp = deadCodeElimination(commonSubexpressions(full));
  // Only the forward values a gradient still reads are saved.
  const read = new Set(vjp.nodes.filter((n) => n.op === Op.Input).map((n) => n.attrs.name!));
  const saved = savedIds.filter((id) => read.has(savedName(id))).sort((x, y) => x - y);
  const inputs = [...step.inputs, ...saved.map((id) => savedInfos[savedIds.indexOf(id)]!), ...seeds];
  return { step, vjp: { ...vjp, inputs }, reads, saved };
}

/** A gradient in the shape of its target: summed over the axes broadcasting added, or spread when it is smaller. */
function fit(g: Differ, d: NodeId, target: Shape): NodeId {
  const s = g.shape(d);
  if (shapeEquals(s, target)) return d;
  const up = broadcastShape(s, target);
  if (up.ok && shapeEquals(up.shape, target)) return g.op(Op.BroadcastTo, [d], { shape: target });
  const down = broadcastShape(target, s);
  if (down.ok && shapeEquals(down.shape, s)) return g.op(Op.ReduceTo, [d], { shape: target });
  throw new Error(`internal: a gradient of shape ${shapeToString(s)} for a value of shape ${shapeToString(target)}`);
}

/** A run of the first axis of a gradient: a node, or zeros (`node` undefined). */
interface Segment { readonly len: Dim; readonly node: NodeId | undefined }

const isZero = (nodes: readonly Node[], id: NodeId): boolean =>
  nodes[id]!.op === Op.BroadcastTo && nodes[nodes[id]!.args[0]!]!.op === Op.Const && nodes[nodes[id]!.args[0]!]!.attrs.value === 0;

/** A gradient as segments: the parts of a concat (zero parts marked), else itself whole. */
function segmentsOf(nodes: readonly Node[], id: NodeId): Segment[] {
  const n = nodes[id]!;
  if (n.shape.length === 0) return [{ len: dimConst(1), node: id }];
  if (n.op === Op.Concat) return n.args.map((a) => ({ len: nodes[a]!.shape[0]!, node: isZero(nodes, a) ? undefined : a }));
  return [{ len: n.shape[0]!, node: isZero(nodes, id) ? undefined : id }];
}

/** Whether a dimension is a positive amount whatever the dims (every coefficient positive). */
const positive = (d: Dim): boolean => d.size > 0 && [...d.values()].every((c) => c > 0);

/** The sum of two segmented gradients, segment by segment (zeros split as needed); undefined when the cuts do not line up. */
function mergeSegments(g: Differ, a: readonly Segment[], b: readonly Segment[]): Segment[] | undefined {
  if (a.length === 1 && b.length === 1) return undefined;
  const out: Segment[] = [];
  const xs = [...a], ys = [...b];
  let x = xs.shift(), y = ys.shift();
  while (x && y) {
    if (dimEquals(x.len, y.len)) {
      out.push({ len: x.len, node: x.node === undefined ? y.node : y.node === undefined ? x.node : g.op(Op.Add, [x.node, y.node]) });
      x = xs.shift();
      y = ys.shift();
    } else if (x.node === undefined && positive(dimAdd(x.len, y.len, -1))) {
      out.push(y);
      x = { len: dimAdd(x.len, y.len, -1), node: undefined };
      y = ys.shift();
    } else if (y.node === undefined && positive(dimAdd(y.len, x.len, -1))) {
      out.push(x);
      y = { len: dimAdd(y.len, x.len, -1), node: undefined };
      x = xs.shift();
    } else return undefined;
  }
  return x || y ? undefined : out;
}

/** One node for a segmented gradient of a value of `shape`. */
function materialize(g: Differ, segs: readonly Segment[], shape: Shape): NodeId {
  if (shape.length === 0) return segs[0]!.node ?? g.op(Op.BroadcastTo, [g.c(0)], { shape });
  if (segs.every((s) => s.node === undefined)) return g.op(Op.BroadcastTo, [g.c(0)], { shape });
  if (segs.length === 1) return segs[0]!.node!;
  return g.op(Op.Concat, segs.map((s) => s.node ?? g.op(Op.BroadcastTo, [g.c(0)], { shape: [s.len, ...shape.slice(1)] })));
}
