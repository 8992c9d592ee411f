// Adds the biases of the gates sliced from one state-free product to it at once: `F[r_k] + c_k` for every slice of F
// becomes `(F + (c_1 ⧺ … ⧺ c_K))[r_k]`, so the biases ride along the input projection (a product that starts from
// them) instead of costing one add per gate over every step.
import { dimEquals, type Dim } from "../ir/dims.js";
import { liveNodes, stageOf, usersOf } from "../ir/graph.js";
import type { CellIR, NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { copy, rebuild } from "./rebuild.js";

/** A state-free value cut into consecutive slices, each added to a state-free constant of its size and nothing else. */
interface Biased {
  /** Per slice, in slice order: the slice, its add and the bias. */
  readonly gates: readonly { readonly slice: NodeId; readonly add: NodeId; readonly bias: NodeId }[];
}

export function stackBiases(ir: CellIR): CellIR {
  const stage = stageOf(ir);
  const users = usersOf(liveNodes(ir));
  const found = new Map<NodeId, Biased>();
  const adds = new Map<NodeId, NodeId>(); // an add of a bias to a slice → the slice
  for (const f of ir.nodes) {
    if (stage[f.id] !== 1 || f.shape.length !== 1 || f.dtype !== "float") continue;
    const slices = users.get(f.id) ?? [];
    if (slices.length < 2 || !slices.every((s) => s.op === Op.Slice)) continue;
    slices.sort((a, b) => order(a.attrs.start!) - order(b.attrs.start!));
    const covers = slices[0]!.attrs.start!.size === 0 && dimEquals(slices[slices.length - 1]!.attrs.end!, f.shape[0]!)
      && slices.every((s, k) => k === 0 || dimEquals(slices[k - 1]!.attrs.end!, s.attrs.start!));
    if (!covers) continue;
    const gates = slices.map((s) => {
      const u = users.get(s.id) ?? [];
      const add = u.length === 1 && u[0]!.op === Op.Add && u[0]!.args[0] !== u[0]!.args[1] ? u[0]! : undefined;
      const bias = add?.args.find((a) => a !== s.id);
      // A bias computed after F (b_x + b_h) is computed again where the sum is made; cse merges the two.
      const ok = bias !== undefined && stage[bias] === 0 && ir.nodes[bias]!.shape.length === 1 && ir.nodes[bias]!.dtype === "float"
        && dimEquals(ir.nodes[bias]!.shape[0]!, s.shape[0]!);
      return ok ? { slice: s.id, add: add!.id, bias: bias! } : undefined;
    });
    if (gates.some((g) => g === undefined)) continue;
    found.set(f.id, { gates: gates as Biased["gates"][number][] });
    for (const g of gates) adds.set(g!.add, g!.slice);
  }
  if (!found.size) return ir;
  return rebuild(ir, (n, e) => {
    const b = found.get(n.id);
    if (b) {
      const early = (id: NodeId): NodeId => {
        const m = ir.nodes[id]!;
        return m.args.length === 0 || id < n.id ? e.map(id) : e.add(m.op, m.args.map(early), m.shape, m.span, m.attrs, m.dtype);
      };
      const biases = e.add(Op.Concat, b.gates.map((g) => early(g.bias)), n.shape, n.span);
      return e.add(Op.Add, [copy(n, e), biases], n.shape, n.span);
    }
    const slice = adds.get(n.id);
    return slice === undefined ? copy(n, e) : e.map(slice);
  });
}

/** A slice start's order among slices of one value: its constant part, then its symbolic parts (slices are consecutive). */
const order = (d: Dim): number => [...d].reduce((s, [k, v]) => s + v * (k === "" ? 1 : 1e6), 0);
