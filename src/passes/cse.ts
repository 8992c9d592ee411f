// Common-subexpression elimination: one node for each distinct (op, arguments, attributes).
import { dimToString, shapeToString } from "../ir/dims.js";
import type { CellIR, Node } from "../ir/ir.js";
import { copy, rebuild } from "./rebuild.js";

function attrsKey(n: Node): string {
  const a = n.attrs;
  return JSON.stringify([a.name, a.lag, a.value, a.start && dimToString(a.start), a.end && dimToString(a.end), a.shape && shapeToString(a.shape), a.depth && dimToString(a.depth)]);
}

export function commonSubexpressions(ir: CellIR): CellIR {
  const seen = new Map<string, number>();
  return rebuild(ir, (n, e) => {
    const args = n.args.map(e.map);
    const key = `${n.op}|${args.join(",")}|${attrsKey(n)}|${n.dtype}`;
    const prev = seen.get(key);
    if (prev !== undefined) return prev;
    const id = copy(n, e);
    seen.set(key, id);
    return id;
  });
}
