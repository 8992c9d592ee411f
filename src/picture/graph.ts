// A cell's dataflow (inputs, gates, values, states, the h[t-1] recurrences) and a model's layers and constructs as a graph of named boxes: what `rnnc graph` lays out and draws.
import { dimVar, shapeToString, type Shape } from "../ir/dims.js";
import type { CellIR, ModelIR, Node, NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";

export type BoxKind = "input" | "state-prev" | "gate" | "value" | "state" | "output" | "layer" | "op";

/** A box of the picture: its label, a second line (shape, cell), and where in the source it comes from. */
export interface Box {
  readonly id: string;
  readonly kind: BoxKind;
  readonly label: string;
  readonly detail: string;
  /** The source file and offset of what the box stands for. */
  readonly file: string;
  readonly start: number;
  /** The params its equation reads (a cell's picture leaves params out of the boxes). */
  readonly params?: readonly string[];
}

/** An arrow: data from one box to another; a recurrence carries a state to the next step (drawn dashed). */
export interface Arrow { readonly id: string; readonly from: string; readonly to: string; readonly recurrence?: boolean }

export interface Picture { readonly title: string; readonly boxes: readonly Box[]; readonly arrows: readonly Arrow[] }

const shapeText = (s: Shape, dtype: "float" | "int" = "float"): string => `${shapeToString(s)}${dtype === "int" ? " int" : ""}`;

/**
 * The cell as named values: a box per input, per state at t-k that some equation reads, per named value (gates
 * marked), per state at t and per output that is not already one of those; an arrow wherever an equation reads
 * another box (through its unnamed sub-expressions), and a recurrence from each state at t to its value at t-1.
 */
export function cellPicture(cell: CellIR): Picture {
  const boxes: Box[] = [];
  const at = new Map<NodeId, string>();
  const states = new Set(cell.states.map((s) => s.name));
  const ids = new Set<string>(), labels = new Set<string>();
  const box = (b: Box, node?: NodeId) => { boxes.push(b); ids.add(b.id); labels.add(b.label); if (node !== undefined && !at.has(node)) at.set(node, b.id); };
  for (const i of cell.inputs) box({ id: `in:${i.name}`, kind: "input", label: i.name, detail: `${i.memory ? "whole " : ""}${shapeText(i.shape, i.dtype)}`, file: cell.file, start: i.span.start });
  const inlinedValues = (cell.inlined ?? []).flatMap((x) => x.values ?? []);
  for (const v of [...cell.values.map((x) => ({ ...x, file: cell.file })), ...inlinedValues]) {
    // (a name for an input, a state's earlier value or a param, e.g. dropout at rate 0, is no box of its own)
    const aliased = [Op.Input, Op.StateRead, Op.Param, Op.Const].includes(cell.nodes[v.node]?.op as Op);
    if (v.node >= cell.nodes.length || aliased || at.has(v.node) || labels.has(v.name)) continue;
    const state = states.has(v.name);
    box({ id: `${state ? "state" : "val"}:${v.name}`, kind: v.gate ? "gate" : state ? "state" : "value", label: v.name, detail: shapeText(cell.nodes[v.node]!.shape), file: v.file, start: v.span.start }, v.node);
  }
  for (const s of cell.states) if (!ids.has(`state:${s.name}`) && !at.has(s.update))
    box({ id: `state:${s.name}`, kind: "state", label: s.name, detail: shapeText(s.shape), file: cell.file, start: s.span.start }, s.update);
  for (const o of cell.outputs) box({ id: `out:${o.name}`, kind: "output", label: `output ${o.name}`, detail: shapeText(cell.nodes[o.node]!.shape), file: cell.file, start: o.span.start });

  const arrows: Arrow[] = [];
  const seen = new Set<string>();
  const arrow = (from: string, to: string, recurrence = false) => {
    const id = `${from}->${to}${recurrence ? ":r" : ""}`;
    if (!seen.has(id)) { seen.add(id); arrows.push({ id, from, to, ...(recurrence ? { recurrence } : {}) }); }
  };
  const prevBox = (n: Node): string => {
    const lag = n.attrs.lag ?? 1, name = n.attrs.name!;
    const id = `prev:${name}:${lag}`;
    if (!ids.has(id)) {
      const s = cell.states.find((x) => x.name === name)!;
      box({ id, kind: "state-prev", label: `${name}[t-${lag}]`, detail: shapeText(s.shape), file: cell.file, start: s.span.start });
      arrow(ids.has(`state:${name}`) ? `state:${name}` : at.get(s.update)!, id, true);
    }
    return id;
  };
  /** The boxes and params an expression reads, looking through unnamed nodes. */
  const sources = (root: NodeId): { boxes: string[]; params: string[] } => {
    const found = new Set<string>(), params = new Set<string>(), visited = new Set<NodeId>();
    const stack = [...cell.nodes[root]!.args];
    while (stack.length) {
      const id = stack.pop()!;
      if (visited.has(id)) continue;
      visited.add(id);
      const n = cell.nodes[id]!;
      if (n.op === Op.Input) found.add(`in:${n.attrs.name}`);
      else if (n.op === Op.StateRead) found.add(prevBox(n));
      else if (n.op === Op.Param) params.add(n.attrs.name!);
      else if (at.has(id)) found.add(at.get(id)!);
      else stack.push(...n.args);
    }
    return { boxes: [...found], params: [...params] };
  };
  for (const [node, id] of [...at]) {
    const s = sources(node);
    for (const f of s.boxes) arrow(f, id);
    if (s.params.length) { const k = boxes.findIndex((b) => b.id === id); boxes[k] = { ...boxes[k]!, params: s.params.sort() }; }
  }
  for (const o of cell.outputs) arrow(at.get(o.node) ?? sources(o.node).boxes[0] ?? `in:${cell.inputs[0]?.name}`, `out:${o.name}`);
  return { title: `cell ${cell.name}`, boxes, arrows: arrows.filter((a) => ids.has(a.from) && ids.has(a.to)) };
}

const constructLabel = (n: Node): string => {
  switch (n.op) {
    case Op.Scan: return `${n.attrs.reverse ? "reverse " : ""}scan(${n.attrs.layer})`;
    case Op.Map: case Op.Apply: return `${n.op}(${n.attrs.layer})`;
    case Op.Generate: return `generate(${n.attrs.layer})${(n.attrs.beam ?? 1) > 1 ? `, beam ${n.attrs.beam}` : ""}`;
    case Op.Field: return `.${n.attrs.name}`;
    default: return n.op;
  }
};

/** The model: a box per input, per construct and operation between layers (constants left out), per output; arrows where one reads another. */
export function modelPicture(ir: ModelIR): Picture {
  const boxes: Box[] = [], arrows: Arrow[] = [];
  const cellOf = new Map(ir.layers.map((l) => [l.name, l.ir.name]));
  const idOf = (n: Node) => (n.op === Op.Input ? `in:${n.attrs.name}` : `n${n.id}`);
  for (const i of ir.inputs) boxes.push({ id: `in:${i.name}`, kind: "input", label: i.name, detail: shapeText(i.seq ? [dimVar(i.seq), ...i.shape] : i.shape, i.dtype), file: ir.file, start: i.span.start });
  const shown = new Set<NodeId>();
  for (const n of ir.nodes) {
    if (n.op === Op.Input || n.op === Op.Const) continue;
    shown.add(n.id);
    const layer = n.attrs.layer;
    const seq = n.seq ? `${n.seq.includes("@") ? `≤ ${n.attrs.steps ?? "?"} steps` : n.seq} × ` : "";
    boxes.push({ id: idOf(n), kind: layer ? "layer" : "op", label: constructLabel(n), detail: `${layer ? `${cellOf.get(layer)} → ` : ""}${seq}${shapeToString(n.shape)}`, file: ir.file, start: n.span.start });
    for (const a of n.args) {
      const from = ir.nodes[a]!;
      if (from.op !== Op.Const) arrows.push({ id: `${idOf(from)}->${idOf(n)}:${arrows.length}`, from: idOf(from), to: idOf(n) });
    }
  }
  for (const o of ir.outputs) {
    boxes.push({ id: `out:${o.name}`, kind: "output", label: `output ${o.name}`, detail: shapeToString(ir.nodes[o.node]!.shape), file: ir.file, start: o.span.start });
    const from = ir.nodes[o.node]!;
    if (from.op === Op.Input || shown.has(from.id)) arrows.push({ id: `${idOf(from)}->out:${o.name}`, from: idOf(from), to: `out:${o.name}` });
  }
  return { title: `model ${ir.name}`, boxes, arrows };
}
