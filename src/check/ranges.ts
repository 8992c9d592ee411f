// Interval analysis over a cell's IR: the range each value can take, used to check that gates stay in [0, 1].
import type { Node } from "../ir/ir.js";
import { Op, outputRange } from "../ir/ops.js";

export type Interval = readonly [number, number];
const ALL: Interval = [-Infinity, Infinity];

function mul(a: Interval, b: Interval): Interval {
  const products = [a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]].map((x) => (Number.isNaN(x) ? 0 : x));
  return [Math.min(...products), Math.max(...products)];
}

/** The range of every node, in node order (args before users). */
export function valueRanges(nodes: readonly Node[]): Interval[] {
  const r: Interval[] = [];
  for (const n of nodes) {
    const a = n.args.map((i) => r[i]!);
    const fixed = outputRange[n.op];
    if (fixed) { r.push(fixed); continue; }
    switch (n.op) {
      case Op.Const: r.push([n.attrs.value!, n.attrs.value!]); break;
      case Op.Add: r.push([a[0]![0] + a[1]![0], a[0]![1] + a[1]![1]]); break;
      case Op.Sub: r.push([a[0]![0] - a[1]![1], a[0]![1] - a[1]![0]]); break;
      case Op.Mul: r.push(mul(a[0]!, a[1]!)); break;
      case Op.Neg: r.push([-a[0]![1], -a[0]![0]]); break;
      case Op.Identity: case Op.Dropout: case Op.Slice: r.push(a[0]!); break;
      case Op.Concat: r.push([Math.min(...a.map((x) => x[0])), Math.max(...a.map((x) => x[1]))]); break;
      case Op.Maximum: r.push([Math.max(a[0]![0], a[1]![0]), Math.max(a[0]![1], a[1]![1])]); break;
      case Op.Minimum: r.push([Math.min(a[0]![0], a[1]![0]), Math.min(a[0]![1], a[1]![1])]); break;
      case Op.Relu: r.push([Math.max(0, a[0]![0]), Math.max(0, a[0]![1])]); break;
      case Op.Exp: r.push([Math.exp(a[0]![0]), Math.exp(a[0]![1])]); break;
      case Op.Softplus: case Op.Abs: case Op.Square: case Op.Sqrt: r.push([0, Infinity]); break;
      default: r.push(ALL);
    }
  }
  return r;
}
