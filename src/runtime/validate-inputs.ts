// Checks a model's inputs and lengths against its declaration, with messages naming the input and both shapes.
import { RnncError } from "../diagnostics/errors.js";
import type { ModelIR } from "../ir/ir.js";
import { concreteShape, type DimEnv } from "./dims.js";

/** An input as far as checking goes: its shape, and its numbers where they should be checked too. */
export interface InputShape { readonly shape: readonly number[]; readonly data?: ArrayLike<number> }

/** Returns the batch size. */
export function validateModelInputs(ir: ModelIR, env: DimEnv, inputs: Readonly<Record<string, InputShape>>, lengths?: Readonly<Record<string, readonly number[]>>): number {
  let B: number | undefined;
  const seqLen = new Map<string, { T: number; lengths: readonly number[] | undefined; from: string }>();
  for (const k of Object.keys(inputs))
    if (!ir.inputs.some((i) => i.name === k)) throw new RnncError("RNN0605", `model \`${ir.name}\` has no input \`${k}\``, [`its inputs are ${ir.inputs.map((i) => i.name).join(", ")}`]);
  for (const inp of ir.inputs) {
    const t = inputs[inp.name];
    const shape = concreteShape(inp.shape, env, `input ${inp.name}`);
    const expected = `[${B ?? "batch"}${inp.seq ? `, ${inp.seq}` : ""}${shape.map((d) => `, ${d}`).join("")}]`;
    if (!t) throw new RnncError("RNN0605", `missing input \`${inp.name}\``, [`model \`${ir.name}\` needs \`${inp.name}\` shaped ${expected}`]);
    const lead = inp.seq ? 2 : 1;
    if (t.shape.length !== shape.length + lead || shape.some((d, i) => t.shape[i + lead] !== d) || (B !== undefined && t.shape[0] !== B))
      throw new RnncError("RNN0605", `input \`${inp.name}\` has shape [${t.shape.join(", ")}], expected ${expected}`,
        ["inputs are nested arrays, batch first; sequences then have their time axis"]);
    B = t.shape[0];
    if (inp.dtype === "int" && t.data && !Array.from(t.data).every(Number.isInteger)) throw new RnncError("RNN0605", `input \`${inp.name}\` holds token ids, which must be whole numbers`);
    const lens = lengths?.[inp.name];
    if (!inp.seq) {
      if (lens) throw new RnncError("RNN0605", `input \`${inp.name}\` is not a sequence, so it takes no lengths`);
      continue;
    }
    const T = t.shape[1]!;
    if (lens && (lens.length !== B || lens.some((l) => !Number.isInteger(l) || l < 1 || l > T)))
      throw new RnncError("RNN0605", `lengths of \`${inp.name}\` must be ${B} whole numbers from 1 to ${T}, got [${lens.join(", ")}]`);
    const prev = seqLen.get(inp.seq);
    if (prev && (prev.T !== T || JSON.stringify(prev.lengths ?? null) !== JSON.stringify(lens ?? null)))
      throw new RnncError("RNN0605", `inputs \`${prev.from}\` and \`${inp.name}\` share the length ${inp.seq} but differ in length`, ["sequences declared with the same length name are aligned step by step"]);
    seqLen.set(inp.seq, { T, lengths: lens, from: inp.name });
  }
  for (const k of Object.keys(lengths ?? {}))
    if (!ir.inputs.some((i) => i.name === k)) throw new RnncError("RNN0605", `lengths given for \`${k}\`, which is not an input`);
  return B ?? 1;
}
