// Adds a stacked state-free term to a stacked product once, then slices the gates: `P_k + G[r_k]` for every gate k
// becomes `(P_1 ⧺ … ⧺ P_K) + G` sliced, one add per step instead of one per gate (cuDNN's layout of the LSTM gates).
import { dimEquals, type Dim } from "../ir/dims.js";
import type { CellIR, Node, NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { liveNodes, stageOf, usersOf } from "../ir/graph.js";
import { copy, rebuild, type Emitter } from "./rebuild.js";

interface Group {
  /** The state-dependent stacked value (the recurrent product), sliced into the gates. */
  readonly g: NodeId;
  /** Per gate, in slice order: the add, its slice of G and its state-free other term. */
  readonly gates: readonly { add: NodeId; slice: NodeId; term: NodeId }[];
  /** The first add in node order: where the new nodes are emitted. */
  readonly first: NodeId;
}

const isZero = (d: Dim) => d.size === 0;

export function stackAdds(ir: CellIR): CellIR {
  const stage = stageOf(ir);
  // Uses by live nodes only: earlier passes leave dead nodes for dce to remove.
  const users = usersOf(liveNodes(ir));
  const groups = new Map<NodeId, Group>();
  for (const g of ir.nodes) {
    if (stage[g.id] !== 2 || g.shape.length !== 1) continue;
    const slices = (users.get(g.id) ?? []).filter((u) => u.op === Op.Slice);
    if (slices.length < 2 || slices.length !== (users.get(g.id) ?? []).length) continue;
    slices.sort((a, b) => compareDims(a.attrs.start!, b.attrs.start!));
    // The slices must cut G into consecutive pieces covering all of it.
    const covers = isZero(slices[0]!.attrs.start!) && dimEquals(slices[slices.length - 1]!.attrs.end!, g.shape[0]!)
      && slices.every((s, k) => k === 0 || dimEquals(slices[k - 1]!.attrs.end!, s.attrs.start!));
    if (!covers) continue;
    const gates = slices.map((s) => {
      const u = users.get(s.id) ?? [];
      const add = u.length === 1 && u[0]!.op === Op.Add ? u[0]! : undefined;
      const term = add ? add.args.find((a) => a !== s.id) : undefined;
      const fits = add && term !== undefined && add.args.filter((a) => a === s.id).length === 1 && stage[term]! < 2
        && ir.nodes[term]!.shape.length === 1 && dimEquals(ir.nodes[term]!.shape[0]!, s.shape[0]!);
      return fits ? { add: add!.id, slice: s.id, term: term! } : undefined;
    });
    if (gates.some((x) => x === undefined)) continue;
    const g2 = gates as { add: NodeId; slice: NodeId; term: NodeId }[];
    const first = Math.min(...g2.map((x) => x.add));
    const group = { g: g.id, gates: g2, first };
    // Everything the stacked term is built from must exist where it is emitted (before the first gate's add).
    const ready = (id: NodeId) => ir.nodes[id]!.args.length === 0 || id < first;
    const input = biasedSlices(ir, group);
    if (input ? !(ready(input.f) && input.consts.every(ready)) : !g2.every((x) => ready(x.term))) continue;
    for (const x of g2) groups.set(x.add, group);
  }
  if (!groups.size) return ir;
  const sums = new Map<Group, NodeId>();
  return rebuild(ir, (n, e) => {
    const group = groups.get(n.id);
    if (!group) return copy(n, e);
    let z = sums.get(group);
    if (z === undefined) {
      const g = ir.nodes[group.g]!;
      z = e.add(Op.Add, [stackedTerm(ir, group, e), e.map(g.id)], g.shape, g.span);
      sums.set(group, z);
    }
    const s = ir.nodes[group.gates.find((x) => x.add === n.id)!.slice]!;
    return e.add(Op.Slice, [z], n.shape, n.span, s.attrs);
  });
}

/**
 * When each gate's state-free term is `c_k + F[r_k]` (the input product plus a bias) or `F[r_k]` alone, for one F sliced
 * as G is: the stacked term is F + (c_1 ⧺ … ⧺ c_K), or F itself; F is not sliced at all.
 */
function biasedSlices(ir: CellIR, group: Group): { f: NodeId; consts: NodeId[] } | undefined {
  const g = ir.nodes[group.g]!;
  const split = group.gates.map((x) => {
    const p = ir.nodes[x.term]!;
    const mine = ir.nodes[x.slice]!;
    const sameRange = (s: Node) => dimEquals(s.attrs.start!, mine.attrs.start!) && dimEquals(s.attrs.end!, mine.attrs.end!);
    if (p.op === Op.Slice) return sameRange(p) ? { f: p.args[0]!, c: undefined } : undefined;
    if (p.op !== Op.Add) return undefined;
    const [a, b] = p.args.map((y) => ir.nodes[y]!);
    const s = a?.op === Op.Slice ? a : b?.op === Op.Slice ? b : undefined;
    const c = s === a ? b : a;
    const same = s && c && s !== c && c.shape.length === 1 && sameRange(s);
    return same ? { f: s.args[0]!, c: c.id } : undefined;
  });
  const f = split[0]?.f;
  if (f === undefined || !split.every((x) => x && x.f === f) || ir.nodes[f]!.shape.length !== 1 || !dimEquals(ir.nodes[f]!.shape[0]!, g.shape[0]!)) return undefined;
  const consts = split.map((x) => x!.c);
  if (consts.some((c) => c === undefined) && !consts.every((c) => c === undefined)) return undefined;
  return { f, consts: consts.filter((c): c is NodeId => c !== undefined) };
}

/** The gates' state-free terms, stacked. */
function stackedTerm(ir: CellIR, group: Group, e: Emitter): NodeId {
  const g = ir.nodes[group.g]!;
  const input = biasedSlices(ir, group);
  if (input && !input.consts.length) return e.map(input.f);
  if (input) return e.add(Op.Add, [e.map(input.f), e.add(Op.Concat, input.consts.map((c) => e.map(c)), g.shape, g.span)], g.shape, g.span);
  return e.add(Op.Concat, group.gates.map((x) => e.map(x.term)), g.shape, g.span);
}

/** Orders slice starts: by value where they are numbers, else by their constant part (slices of one value are ordered). */
function compareDims(a: Dim, b: Dim): number {
  const key = (d: Dim) => [...d].map(([k, v]) => `${k}:${v}`).sort().join(",");
  const weight = (d: Dim) => [...d].reduce((s, [k, v]) => s + v * (k === "" ? 1 : 1e6), 0);
  return weight(a) - weight(b) || key(a).localeCompare(key(b));
}
