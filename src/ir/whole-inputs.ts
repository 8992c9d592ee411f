// Layers that read a sequence whole (attention): which backends run them yet, and the one message for those that do not.
import type { ModelIR } from "./ir.js";

/** The first layer of the model with an input read whole, and that input; undefined when there is none. */
export function readsWhole(ir: ModelIR): { readonly layer: string; readonly input: string } | undefined {
  for (const l of ir.layers) {
    const input = l.ir.inputs.find((i) => i.memory !== undefined);
    if (input) return { layer: l.name, input: input.name };
  }
  return undefined;
}

/** Why `backend` cannot take this model yet (a layer reading a sequence whole), or undefined when it can. */
export function wholeInputsRefusal(ir: ModelIR, backend: string): string | undefined {
  const w = readsWhole(ir);
  return w ? `layer \`${w.layer}\` reads \`${w.input}\` whole (attention over a sequence), which ${backend} does not run yet; the reference interpreter and TensorFlow.js do (\`rnnc run\`, \`rnnc train\`)` : undefined;
}
