// Converts JSON nested arrays into tensors, rejecting ragged, empty or non-numeric data with a clear message.
import { RnncError } from "../diagnostics/errors.js";
import { alloc, type Precision, type Tensor } from "./tensor.js";
import { MAX_TENSOR_ELEMENTS } from "../diagnostics/limits.js";
import { describe } from "../diagnostics/describe.js";

/** Axes of an input tensor at most. */
const MAX_RANK = 16;
/** The largest finite float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;

export function tensorFromJson(value: unknown, what: string, precision: Precision): Tensor {
  const shape: number[] = [];
  for (let v = value; Array.isArray(v); v = v[0]) {
    if (v.length === 0) throw new RnncError("RNN0605", `${what} has an empty axis at depth ${shape.length}`, ["every axis needs at least one element"]);
    if (shape.length === MAX_RANK) throw new RnncError("RNN0605", `${what} has more than ${MAX_RANK} axes`, ["inputs are [batch][time][…the input's own shape]"]);
    shape.push(v.length);
  }
  let elements = 1;
  for (const d of shape) elements *= d;
  if (elements > MAX_TENSOR_ELEMENTS) throw new RnncError("RNN0605", `${what} has ${elements.toLocaleString("en-US")} elements, more than a tensor can hold (${MAX_TENSOR_ELEMENTS.toLocaleString("en-US")})`);
  const t = alloc(shape, precision);
  let k = 0;
  const walk = (v: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof v !== "number" || !Number.isFinite(v))
        throw new RnncError("RNN0605", `${what}${path} is ${describe(v)}, not a finite number`,
          typeof v === "string" || v === null ? ["JSON has no NaN or Infinity; inputs must be finite numbers"] : []);
      if (precision === "f32" && Math.abs(v) > FLOAT32_MAX)
        throw new RnncError("RNN0605", `${what}${path} is ${v}, beyond the range of float32 (±3.4e38)`, ["inputs are computed in float32; --precision f64 keeps float64"]);
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
