// Sequences a cell reads whole (attention), between the model's time-major layout and the kernel's row per example.
import type { CellIR, InputInfo } from "../ir/ir.js";
import { maskInputName } from "../ir/whole-inputs.js";
import type { ScanRun } from "./types.js";

/** Whether an input is a mask the kernel makes itself (explicit-masks.ts), no input of the caller's. */
export const isMaskInput = (inp: InputInfo): boolean => inp.memory !== undefined && inp.name === maskInputName(inp.memory);

/**
 * The inputs read whole, batch first [B·size] by input index (the caller's time-major [S·B·size] turned), and the
 * masks the kernel makes from their lengths.
 */
export function wholeInputs(cell: CellIR, run: ScanRun): Map<number, Float32Array> {
  const out = new Map<number, Float32Array>();
  cell.inputs.forEach((inp, k) => {
    if (inp.memory === undefined) return;
    if (isMaskInput(inp)) {
      const of = cell.inputs.findIndex((i) => i.memory === inp.memory && !isMaskInput(i));
      const span = run.wholes?.[of];
      if (!span) throw new Error(`internal: no lengths for the sequence ${inp.memory} read whole`);
      out.set(k, maskOf(span.lengths, span.S));
    } else {
      const span = run.wholes?.[k];
      if (!span) throw new Error(`internal: input ${inp.name} is read whole but given stepped`);
      out.set(k, batchFirst(run.xs[k]!, span.S, run.B));
    }
  });
  return out;
}
/** [S, B, size] (time-major) → [B, S, size], as a new array. */
export function batchFirst(a: Float32Array, S: number, B: number): Float32Array {
  const size = a.length / (S * B || 1);
  const o = new Float32Array(a.length);
  for (let s = 0; s < S; s++) for (let b = 0; b < B; b++) o.set(a.subarray((s * B + b) * size, (s * B + b + 1) * size), (b * S + s) * size);
  return o;
}

/** [B, S, size] → [S, B, size] (time-major), as a new array. */
export function timeFirst(a: Float32Array, S: number, B: number): Float32Array {
  const size = a.length / (S * B || 1);
  const o = new Float32Array(a.length);
  for (let b = 0; b < B; b++) for (let s = 0; s < S; s++) o.set(a.subarray((b * S + s) * size, (b * S + s + 1) * size), (s * B + b) * size);
  return o;
}

/** The mask [B, S]: 1 at each example's own positions (before its length), 0 past them. */
export function maskOf(lengths: readonly number[], S: number): Float32Array {
  const m = new Float32Array(lengths.length * S);
  lengths.forEach((l, b) => m.fill(1, b * S, b * S + Math.min(l, S)));
  return m;
}
