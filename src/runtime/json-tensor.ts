// Converts JSON nested arrays into tensors, rejecting ragged, empty or non-numeric data with a clear message.
import { RnncError } from "../diagnostics/errors.js";
import { alloc, type Precision, type Tensor } from "./tensor.js";

export function tensorFromJson(value: unknown, what: string, precision: Precision): Tensor {
  const shape: number[] = [];
  for (let v = value; Array.isArray(v); v = v[0]) {
    if (v.length === 0) throw new RnncError("RNN0605", `${what} has an empty axis at depth ${shape.length}`, ["every axis needs at least one element"]);
    shape.push(v.length);
  }
  const t = alloc(shape, precision);
  let k = 0;
  const walk = (v: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof v !== "number" || !Number.isFinite(v))
        throw new RnncError("RNN0605", `${what}${path} is ${JSON.stringify(v)}, not a finite number`);
      t.data[k++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth])
      throw new RnncError("RNN0605", `${what} is ragged: ${what}${path} has ${Array.isArray(v) ? `${v.length} elements` : "no list"} where ${shape[depth]} were expected`,
        ["nested arrays must be rectangular: every list at one depth has the same length"]);
    v.forEach((x, i) => walk(x, depth + 1, `${path}[${i}]`));
  };
  walk(value, 0, "");
  return t;
}
