// Layers that read a sequence whole (attention): whether a model has one (what cannot stream).
import type { ModelIR } from "./ir.js";

/** The first layer of the model with an input read whole, and that input; undefined when there is none. */
export function readsWhole(ir: ModelIR): { readonly layer: string; readonly input: string } | undefined {
  for (const l of ir.layers) {
    const input = l.ir.inputs.find((i) => i.memory !== undefined);
    if (input) return { layer: l.name, input: input.name };
  }
  return undefined;
}

