// A cell whose one recurrence is a stdlib layer inlined into it (an embedding, an LSTM, a head): split around that layer, so a scan runs it on torch's nn.LSTM over the whole sequence and the rest once over every step.
import { evalDim } from "../../ir/dims.js";
import { reachable } from "../../ir/graph.js";
import type { CellIR, Node, NodeId } from "../../ir/ir.js";
import { Op } from "../../ir/ops.js";
import type { DimEnv } from "../../runtime/dims.js";
import { nativeOf, type NativeCell } from "./native.js";

export interface SplitCell {
  /** The inlined layer's prefix (`rnn` for `rnn.W_xi`) and its torch module (views named as in the layer's own cell). */
  readonly prefix: string;
  readonly native: NativeCell;
  /** The node the layer's module reads, [I] a step (its input, times its dropout mask in training), and the node of its h at step t, [H]. */
  readonly input: NodeId;
  readonly h: NodeId;
  readonly I: number;
  /** Before the layer: what its input is computed from (the cell's inputs, params, constants). */
  readonly pre: readonly Node[];
  /** After it: h at t (first), then the cell's output from it, the inputs and params (never a state at t-1, nor the layer's insides). */
  readonly post: readonly Node[];
}

/**
 * The split of `ir` (as elaborated, not optimized: the inlined layer's nodes are as its cell wrote them), or undefined
 * when the cell has another recurrence or its output reads more of the layer than its h. Sequences the cell reads
 * whole (attention's keys) may be read after the layer, by every step at once.
 */
export function splitCell(ir: CellIR, env: DimEnv): SplitCell | undefined {
  // One inlined layer with states (stateless ones, an embedding or a head, are part of what comes before or after).
  const layers = (ir.inlined ?? []).filter((x) => x.cell.states.length > 0);
  if (layers.length !== 1 || !ir.outputs.length) return undefined;
  const layer = layers[0]!;
  const names = layer.cell.states.map((s) => `${layer.prefix}.${s.name}`);
  if (ir.states.length !== names.length || !ir.states.every((s, k) => s.name === names[k] && s.maxLag <= 1)) return undefined;
  const first = layer.cell.params.length ? [...(nativeOf(layer.cell, 1, 1, true)?.views.keys() ?? [])][0] : undefined;
  const weight = first && ir.params.find((p) => p.name === `${layer.prefix}.${first}`);
  if (!weight) return undefined;
  const [H, I] = weight.shape.map((d) => evalDim(d, env));
  if (H === undefined || I === undefined) return undefined;
  // The recorded input must be what the layer's first input weight multiplies (a rewrite may have renumbered nodes),
  // or, in the cell's training form, that input times a mask (its input dropout, then done before torch's module).
  const bound = layer.inputs[0];
  const param = ir.nodes.find((n) => n.op === Op.Param && n.attrs.name === weight.name);
  const read = param && ir.nodes.find((n) => n.op === Op.MatMul && n.args[0] === param.id)?.args[1];
  if (bound === undefined || read === undefined) return undefined;
  const r = ir.nodes[read]!;
  const isMask = (id: NodeId | undefined) => { const m = id === undefined ? undefined : ir.nodes[id]!; return m?.op === Op.Input && ir.inputs.some((i) => i.name === m.attrs.name && i.memory === undefined); };
  const masked = read !== bound && r.op === Op.Mul && r.args[0] === bound && isMask(r.args[1]);
  const native = read === bound || masked ? nativeOf(layer.cell, I, H, masked) : undefined;
  if (!native) return undefined;
  const input = read;
  const h = ir.states.find((s) => s.name === `${layer.prefix}.h`)?.update;
  if (h === undefined) return undefined;
  const pre = reachable(ir.nodes, [input]);
  const whole = (n: Node) => n.op === Op.Input && ir.inputs.some((i) => i.name === n.attrs.name && i.memory !== undefined);
  if (pre.some((n) => n.op === Op.StateRead || whole(n))) return undefined;
  // The output's nodes back to h, which is given: none may read a state, so none is inside the layer.
  const post = new Map<NodeId, Node>();
  const stack = [ir.outputs[0]!.node];
  while (stack.length) {
    const id = stack.pop()!;
    if (id === h || post.has(id)) continue;
    const n = ir.nodes[id]!;
    if (n.op === Op.StateRead) return undefined;
    post.set(id, n);
    stack.push(...n.args);
  }
  // h itself leads the list: the caller gives its value (the layer's output, every step).
  return { prefix: layer.prefix, native, input, h, I, pre, post: [ir.nodes[h]!, ...[...post.values()].sort((a, b) => a.id - b.id)] };
}
