// The training data as one compact file for the PyTorch trainer: each split's inputs and targets as flat typed arrays, ragged rows by their lengths.
import type { ModelInputInfo } from "../ir/ir.js";
import { concreteShape, type DimEnv } from "../runtime/dims.js";
import { targetValues } from "../runtime/training.js";

/** An example as fit() gets it: named inputs (nested arrays) and a target. */
export interface DataExample { readonly inputs: Readonly<Record<string, unknown>>; readonly target: unknown }

/** How the trainer reads the targets: class ids (one, or one per step; CTC's label lists alike) or rows of `width` values. */
export type TargetLayout = { readonly kind: "ids" } | { readonly kind: "values"; readonly width: number; readonly seq: boolean };

/** One array in the file: where it starts (bytes), its element type and count. */
interface Block { readonly name: string; readonly dtype: "i32" | "f32"; readonly offset: number; readonly count: number }

const MAGIC = "RNNCDATA";

/**
 * The file: MAGIC, the header's byte length (u32, little-endian), the header (JSON: the inputs, the target layout, each
 * split's size and arrays), then the arrays, each at an offset that is a multiple of 8. Per split, a sequence input
 * is `SPLIT/NAME/lengths` (i32, one per example) and `SPLIT/NAME` (its steps back to back); any other input is
 * `SPLIT/NAME` (one value per example, flattened); targets are `SPLIT/target/lengths` and `SPLIT/target`.
 */
export function encodeData(given: readonly ModelInputInfo[], env: DimEnv, target: TargetLayout, splits: Readonly<Record<string, readonly DataExample[]>>): Uint8Array {
  const inputs = given.map((i) => ({ name: i.name, dtype: i.dtype === "int" ? "i32" as const : "f32" as const, seq: i.seq !== undefined, shape: concreteShape(i.shape, env, `input ${i.name}`) }));
  const arrays: { name: string; data: Int32Array | Float32Array }[] = [];
  const sizes: Record<string, number> = {};
  for (const [split, examples] of Object.entries(splits)) {
    sizes[split] = examples.length;
    for (const inp of inputs) {
      const flat = examples.map((e) => flatNumbers(e.inputs[inp.name]));
      if (inp.seq) arrays.push({ name: `${split}/${inp.name}/lengths`, data: Int32Array.from(examples, (e) => (e.inputs[inp.name] as unknown[]).length) });
      arrays.push({ name: `${split}/${inp.name}`, data: joined(flat, inp.dtype) });
    }
    const rows = examples.map((e) => targetRow(e.target, target));
    arrays.push({ name: `${split}/target/lengths`, data: Int32Array.from(rows, (r) => r.steps) });
    arrays.push({ name: `${split}/target`, data: joined(rows.map((r) => r.values), target.kind === "ids" ? "i32" : "f32") });
  }
  const blocks: Block[] = [];
  let at = 0;
  for (const a of arrays) {
    blocks.push({ name: a.name, dtype: a.data instanceof Int32Array ? "i32" : "f32", offset: at, count: a.data.length });
    at += Math.ceil(a.data.byteLength / 8) * 8;
  }
  const header = new TextEncoder().encode(JSON.stringify({ format: "rnnc-batches", version: 1, inputs, target, sizes, blocks }));
  const start = Math.ceil((MAGIC.length + 4 + header.length) / 8) * 8;
  const out = new Uint8Array(start + at);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(MAGIC.length, header.length, true);
  out.set(header, MAGIC.length + 4);
  // Typed arrays are written as the platform holds them; every platform Node runs on is little-endian.
  arrays.forEach((a, k) => out.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), start + blocks[k]!.offset));
  return out;
}

/** Every number in a nested array, in order (a number alone is a list of one). */
function flatNumbers(v: unknown): number[] {
  if (typeof v === "number") return [v];
  if (!Array.isArray(v)) return [Number(v)];
  return (v.some(Array.isArray) ? v.flat(Infinity) : v).map(Number);
}

function joined(parts: readonly (readonly number[])[], dtype: "i32" | "f32"): Int32Array | Float32Array {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = dtype === "i32" ? new Int32Array(n) : new Float32Array(n);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** A target's steps and its numbers: class ids (a lone id is one step), or each step's values flattened to `width` as training reads them. */
function targetRow(t: unknown, layout: TargetLayout): { steps: number; values: number[] } {
  if (layout.kind === "ids") {
    const ids = Array.isArray(t) ? t.map(Number) : [Number(t)];
    return { steps: ids.length, values: ids };
  }
  const steps = layout.seq ? (t as unknown[]).length : 1;
  return { steps, values: Array.from(targetValues([t], layout.seq, steps, layout.width)) };
}

/** How a loss's targets are laid out for an output of `outputShape` (per step, when `seq`): values for mse, else class ids. */
export function targetLayoutOf(loss: "crossentropy" | "mse" | "ctc", outputShape: readonly number[], seq: boolean): TargetLayout {
  return loss === "mse" ? { kind: "values", width: outputShape.reduce((a, b) => a * b, 1), seq } : { kind: "ids" };
}
