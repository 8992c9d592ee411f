// Gives a cell's dimensions numbers (from the caller, then defaults) and turns symbolic shapes concrete.
import { RnncError } from "../diagnostics/errors.js";
import { closestNames } from "../diagnostics/suggest.js";
import { evalDim, shapeToString, type Shape } from "../ir/dims.js";
import type { CellIR, DimInfo, LayerInfo, ModelIR } from "../ir/ir.js";
import { MAX_TENSOR_ELEMENTS, MAX_TOTAL_ELEMENTS } from "../diagnostics/limits.js";

export type DimEnv = ReadonlyMap<string, number>;

/** Numbers for a cell's or a model's dims: given ones first, then defaults; a missing or unknown one is an error. */
export function resolveDims(ir: { readonly name: string; readonly dims: readonly DimInfo[] }, given: ReadonlyMap<string, number>): DimEnv {
  const names = ir.dims.map((d) => d.name);
  for (const [k, v] of given) {
    if (!names.includes(k)) {
      const near = closestNames(k, names);
      throw new RnncError("RNN0205", `\`${ir.name}\` has no dimension \`${k}\``,
        [names.length ? `its dimensions are ${names.join(", ")}` : "it declares no dimensions"], near.length ? `did you mean \`${near[0]}\`?` : undefined);
    }
    if (!Number.isInteger(v) || v < 1) throw new RnncError("RNN0205", `dimension ${k} must be a positive integer, not ${v}`);
  }
  const env = new Map<string, number>();
  const missing: string[] = [];
  for (const d of ir.dims) {
    const v = given.get(d.name) ?? d.default;
    if (v === undefined) missing.push(d.name);
    else env.set(d.name, v);
  }
  if (!missing.length && "nodes" in ir) checkSizes(ir as unknown as SizedIR, env);
  if (missing.length) {
    throw new RnncError("RNN0205", `unresolved dimension${missing.length > 1 ? "s" : ""} ${missing.join(", ")} of \`${ir.name}\``,
      [`${ir.name}<${ir.dims.map((d) => (d.default === undefined ? d.name : `${d.name} = ${d.default}`)).join(", ")}> has no default for ${missing.join(", ")}`],
      `give ${missing.length > 1 ? "them" : "it"} a value: --dims ${missing.map((m) => `${m}=…`).join(",")}`);
  }
  return env;
}

export function concreteShape(shape: Shape, env: DimEnv, what: string): number[] {
  return shape.map((d) => {
    const v = evalDim(d, env);
    if (v === undefined || !Number.isInteger(v) || v < 1)
      throw new RnncError("RNN0205", `${what} has shape ${shapeToString(shape)}, which is not a positive size with these dimensions`);
    return v;
  });
}

/** A layer's dims as numbers, from the model's. */
export function layerEnv(l: LayerInfo, env: DimEnv): Map<string, number> {
  return new Map([...l.dims].map(([k, d]) => [k, evalDim(d, env)!]));
}

type SizedIR = CellIR | ModelIR;

/**
 * Rejects dimensions under which a tensor of the spec (a param, a state, an input or any value of a step, per example)
 * or all of them together would pass the documented limits: checked on the symbolic shapes, before anything is allocated.
 */
function checkSizes(ir: SizedIR, env: DimEnv): void {
  let total = 0;
  const visit = (cell: SizedIR, e: DimEnv) => {
    const shapes: [string, Shape][] = [
      ...("params" in cell ? cell.params.map((p) => [`param ${p.name}`, p.shape] as [string, Shape]) : []),
      ...cell.nodes.map((n) => [n.op === "param" || n.op === "input" || n.op === "state" ? `${n.op} ${n.attrs.name}` : `a value of ${cell.name}`, n.shape] as [string, Shape]),
    ];
    for (const [what, shape] of shapes) {
      let size = 1;
      for (const d of shape) size *= evalDim(d, e) ?? 1;
      if (size > MAX_TENSOR_ELEMENTS) {
        throw new RnncError("RNN0606", `with ${[...env].map(([k, v]) => `${k}=${v}`).join(", ")}, ${what} of ${cell.name} would have ${size.toLocaleString("en-US")} elements`,
          [`${what} has shape ${shapeToString(shape)}; a tensor holds at most ${MAX_TENSOR_ELEMENTS.toLocaleString("en-US")} elements`, "nothing was allocated"],
          "use smaller dimensions");
      }
      total += size;
    }
    if ("layers" in cell) for (const l of cell.layers) visit(l.ir, layerEnv(l, e));
  };
  visit(ir, env);
  if (total > MAX_TOTAL_ELEMENTS) {
    throw new RnncError("RNN0606", `with ${[...env].map(([k, v]) => `${k}=${v}`).join(", ")}, the tensors of ${ir.name} would have ${total.toLocaleString("en-US")} elements together`,
      [`params and one example's values hold at most ${MAX_TOTAL_ELEMENTS.toLocaleString("en-US")} elements together`, "nothing was allocated"],
      "use smaller dimensions");
  }
}
