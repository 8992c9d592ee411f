// A .rnn spec from a chain of layers read from another framework's model (ONNX graphs, tfjs-layers topologies): the
// layers, then one model applying them in order; and which state-dict unit fills which layer.
import { RnncError } from "../diagnostics/errors.js";

/** A layer found on the data path. */
export type Layer =
  | { readonly kind: "Embedding"; readonly name: string; readonly unit: string; readonly V: number; readonly E: number }
  | { readonly kind: "LSTM" | "GRU" | "GRUResetBefore" | "Elman"; readonly name: string; readonly unit: string; readonly I: number; readonly H: number; readonly direction: string; readonly act?: string }
  | { readonly kind: "Dense"; readonly name: string; readonly unit: string; readonly I: number; readonly O: number; act?: string };

/** One step of the data path: a layer, or the last step of each sequence. */
export type Step = { readonly layer: Layer } | { readonly last: true };

export interface DerivedSpec {
  readonly text: string;
  readonly model: string;
  /** State-dict unit key → layer name (a bidirectional op's reverse direction: `<key>_reverse` → its own layer). */
  readonly names: ReadonlyMap<string, string>;
}

/** The coded error for a model rnnc cannot write a spec for. */
export const cannotWrite = (source: string, why: string, what: string) => new RnncError("RNN0604", `cannot write a spec for ${source}: ${why}`, [what],
  "write the spec yourself and give it with --spec (and --map where layers are ambiguous)");

/** Names a layer cannot take: the language's keywords, the model constructs, and the model's own input and output. */
const reserved = new Set<string>(["import", "from", "cell", "model", "input", "state", "param", "gate", "output", "layer",
  "scan", "map", "last", "final", "states", "generate", "bidirectional", "x", "y"]);

/** A layer name from a framework's name for it (`fallback` when it is no identifier rnnc takes), unique in `used`. */
export function layerName(part: string, fallback: string, used: Set<string>): string {
  let base = /^[A-Za-z_][A-Za-z0-9_]*$/.test(part) && !reserved.has(part) ? part : fallback;
  for (let k = 2; used.has(base); k++) base = `${base.replace(/_\d+$/, "")}_${k}`;
  used.add(base);
  return base;
}

/** The spec text: the layers, then the model applying them in order. */
export function writeSpec(steps: readonly Step[], tokens: boolean, source: string, cannot: (why: string) => RnncError, origin = "the layers on its graph's data path"): DerivedSpec {
  const layers = steps.flatMap((s) => ("layer" in s ? [s.layer] : []));
  if (!layers.length) throw cannot("no layer was found between its input and its output");
  const first = layers[0]!;
  const inputShape = first.kind === "Embedding" ? "[T] int" : `[T, ${first.I}]`;
  if (tokens !== (first.kind === "Embedding")) throw cannot(tokens ? "its input is token ids but its first layer is not an embedding" : "its first layer is an embedding of a float input");
  const names = new Map<string, string>();
  const decls: string[] = [];
  let value = "x";
  let seq = true;
  for (const s of steps) {
    if (!("layer" in s)) {
      if (!seq) throw cannot("it takes the last step of something that is not a sequence");
      value = `last(${value})`;
      seq = false;
      continue;
    }
    const l = s.layer;
    if (l.kind === "Embedding") {
      decls.push(`  layer ${l.name} = Embedding<${l.V}, ${l.E}>`);
      names.set(l.unit, l.name);
      value = seq ? `map(${l.name}, ${value})` : `${l.name}(${value})`;
    } else if (l.kind === "Dense") {
      decls.push(`  layer ${l.name} = Dense<${l.I}, ${l.O}>${l.act ? `(act = ${l.act})` : ""}`);
      names.set(l.unit, l.name);
      value = seq ? `map(${l.name}, ${value})` : `${l.name}(${value})`;
    } else {
      if (!seq) throw cannot(`recurrent layer ${l.name} comes after the last step was taken`);
      const cell = `${l.kind}<${l.I}, ${l.H}>${l.act && l.act !== "tanh" ? `(act = ${l.act})` : ""}`;
      if (l.direction === "bidirectional") {
        decls.push(`  layer ${l.name}_fwd = ${cell}`, `  layer ${l.name}_bwd = ${cell}`);
        names.set(`${l.unit}.l0`, `${l.name}_fwd`);
        names.set(`${l.unit}.l0_reverse`, `${l.name}_bwd`);
        value = `bidirectional(${l.name}_fwd, ${l.name}_bwd, ${value})`;
      } else {
        decls.push(`  layer ${l.name} = ${cell}`);
        names.set(`${l.unit}.l0`, l.name);
        value = `scan(${l.name}, ${value}${l.direction === "reverse" ? ", reverse = true" : ""})`;
      }
    }
  }
  const cells = [...new Set(layers.map((l) => l.kind))].sort();
  const text = [
    `// Written by rnnc import from ${source.replace(/[\r\n]/g, " ")}: ${origin}, in order.`,
    "// Check the model's wiring against the source's; the weights file beside this one fits it.",
    `import { ${cells.join(", ")} } from "std"`,
    "",
    "model Imported {",
    `  input x: ${inputShape}`,
    ...decls,
    `  output y = ${value}`,
    "}",
    "",
  ].join("\n");
  return { text, model: "Imported", names };
}
