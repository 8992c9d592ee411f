// What every reader of a weights file from elsewhere checks before it allocates or believes: shapes, sizes, finiteness.
import { RnncError } from "../diagnostics/errors.js";
import { MAX_TENSOR_ELEMENTS } from "../diagnostics/limits.js";
import { describe } from "../diagnostics/describe.js";


/** How an importer treats NaN and ±Infinity in the weights it reads (refused unless the user says otherwise). */
export interface ReadOptions { readonly allowNonfinite?: boolean }

/**
 * The number of elements of a claimed shape, or an error saying why the claim is not one: a list of whole numbers ≥ 0
 * whose product is at most MAX_TENSOR_ELEMENTS (checked as it is multiplied, so that no claim overflows or allocates).
 */
export function claimedElements(shape: unknown, what: string, malformed: (why: string) => Error): number {
  if (!Array.isArray(shape)) throw malformed(`${what} has no shape (a list of whole numbers)`);
  if (shape.length > 16) throw malformed(`${what} claims ${shape.length} axes; rnnc reads tensors of at most 16`);
  let n = 1;
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) throw malformed(`${what} has the shape [${shape.slice(0, 8).map(describe).join(", ")}${shape.length > 8 ? ", …" : ""}], which is not a list of whole numbers ≥ 0`);
    n *= d;
    if (n > MAX_TENSOR_ELEMENTS) {
      throw new RnncError("RNN0606", `${what} claims the shape [${shape.join(", ")}], more than the ${MAX_TENSOR_ELEMENTS.toLocaleString("en-US")} elements a tensor can hold`, [
        "the claim is checked before anything is allocated; a file that makes it is damaged or was not written for rnnc",
      ]);
    }
  }
  return shape.includes(0) ? 0 : n;
}


/** Refuses NaN and ±Infinity in `data` (the weights of `what` in `source`) unless `allowNonfinite`. */
export function checkFinite(data: ArrayLike<number>, what: string, source: string, opts: ReadOptions = {}): void {
  if (opts.allowNonfinite) return;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) throw nonfinite(what, source, v, i);
  }
}

/** The error for a NaN or ±Infinity `v` at index `i` of `what` in `source`. */
export const nonfinite = (what: string, source: string, v: number, i: number): RnncError =>
  new RnncError("RNN0608", `${source}: ${what} holds ${String(v)} at index ${i}`, [
    "a non-finite weight makes every output it reaches NaN; it usually means the training that wrote the file diverged",
  ], "pass --allow-nonfinite to read it anyway");

const bits = new Uint32Array(1), asFloat = new Float32Array(bits.buffer);
/** An IEEE half-precision float's 16 bits as a number. */
export function float16(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}
/** A bfloat16's 16 bits (the top half of a float32) as a number. */
export function bfloat16(h: number): number {
  bits[0] = h << 16;
  return asFloat[0]!;
}
