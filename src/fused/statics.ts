// The values of a fused kernel's step computed from params alone (stacked, sliced, transposed weights), once per call.
import { evalDim } from "../ir/dims.js";
import type { Node } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import type { DimEnv } from "../runtime/dims.js";
import { evalRows, sharedRows, type Rows } from "./batched.js";
import { LazyTranspose, type OwnArrays } from "./slots.js";
import { weightsChanged } from "./weight-versions.js";

/**
 * The values computed from params alone, once per call; those `known` holds (the forward pass's, for the backward
 * pass of the same tape) are taken from there, and what is computed is added to it. A transpose of a matrix is
 * computed only if read as data: the products read the matrix it transposes.
 */
export function staticValues(params: ReadonlyMap<string, Float32Array>, nodes: readonly Node[], v: Rows[], known: Map<string, Rows>, env: DimEnv, shapeOf: (n: Node) => number[], arrays?: OwnArrays<string>): void {
  const keys: string[] = [];
  // Values written into `arrays` (those of an earlier update of the same weights, by what they compute) instead of new
  // ones: each is then a new version of its array, so what was kept of it (packed for the products) is made again.
  const pool = arrays && { place: (id: number, length: number) => arrays.place(keys[id]!, length) };
  for (const n of nodes) {
    if (n.op === Op.Input) continue;
    const key = (keys[n.id] = `${n.op}(${n.args.map((a) => keys[a] ?? `?${a}`).join(",")})${attrsKey(n, env)}|${shapeOf(n).join("x")}`);
    const had = key.includes("?") ? undefined : known.get(key);
    if (had) {
      v[n.id] = had;
      continue;
    }
    const arg = v[n.args[0]!];
    if (n.op === Op.Param) v[n.id] = sharedRows(params.get(n.attrs.name!)!, shapeOf(n));
    else if (n.op === Op.Transpose && arg?.shared && arg.shape.length === 2) {
      // Computed only if read as data; products read the matrix it transposes.
      v[n.id] = new LazyTranspose(arg, shapeOf(n), () => evalRows(n, [arg], env, 1).data);
    } else {
      v[n.id] = evalRows(n, n.args.map((a) => v[a]!), env, 1, key.includes("?") ? undefined : pool);
      if (pool) weightsChanged([v[n.id]!.data]);
    }
    if (!key.includes("?")) known.set(key, v[n.id]!);
  }
}

/** A node's attributes as text, dimensions evaluated (two nodes with the same op, arguments and text compute the same). */
function attrsKey(n: Node, env: DimEnv): string {
  const text = (x: unknown): string =>
    x instanceof Map ? String(evalDim(x as ReadonlyMap<string, number>, env)) : Array.isArray(x) ? `[${x.map(text).join(",")}]` : JSON.stringify(x);
  return Object.entries(n.attrs).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => `${k}=${text(x)}`).join(";");
}
