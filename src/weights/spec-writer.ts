// A .rnn spec from a chain of layers read from another framework's model (ONNX graphs, tfjs-layers topologies): the
// layers, then one model applying them in order; and which state-dict unit fills which layer.
import { RnncError } from "../diagnostics/errors.js";

/** A layer found on the data path. */
export type Layer =
  | { readonly kind: "Embedding"; readonly name: string; readonly unit: string; readonly V: number; readonly E: number }
  | { readonly kind: "LSTM" | "PeepholeLSTM" | "GRU" | "GRUResetBefore" | "Elman"; readonly name: string; readonly unit: string; readonly I: number; readonly H: number; readonly direction: string;
      readonly act?: string; readonly actBwd?: string;
      /** A cell of the spec's own (same params as `kind`) for each direction, where the stdlib's does not compute the source's. */
      readonly cell?: string; readonly cellBwd?: string }
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

/** A model as a derived spec writes it: inputs, layers, named values and outputs, with notes on how its data is laid out. */
export interface ModelParts {
  readonly inputs: readonly { readonly name: string; readonly type: string }[];
  readonly layers: readonly Layer[];
  readonly defs: readonly { readonly name: string; readonly expr: string }[];
  readonly outputs: readonly { readonly name: string; readonly expr: string }[];
  readonly notes?: readonly string[];
  /** Cells the spec declares itself (before the model). */
  readonly cells?: readonly string[];
}

/** A recurrent layer's declarations (a bidirectional one's two directions, `_fwd` and `_bwd`) and the layer names its units fill. */
export function declare(l: Layer, names: Map<string, string>): string[] {
  if (l.kind === "Embedding") { names.set(l.unit, l.name); return [`  layer ${l.name} = Embedding<${l.V}, ${l.E}>`]; }
  if (l.kind === "Dense") { names.set(l.unit, l.name); return [`  layer ${l.name} = Dense<${l.I}, ${l.O}>${l.act ? `(act = ${l.act})` : ""}`]; }
  const cell = (own: string | undefined, act?: string) => (own ? `${own}<${l.I}, ${l.H}>` : `${l.kind}<${l.I}, ${l.H}>${act && act !== "tanh" ? `(act = ${act})` : ""}`);
  if (l.direction !== "bidirectional") {
    names.set(`${l.unit}.l0${l.direction === "reverse" ? "_reverse" : ""}`, l.name);
    return [`  layer ${l.name} = ${cell(l.cell, l.act)}`];
  }
  names.set(`${l.unit}.l0`, `${l.name}_fwd`);
  names.set(`${l.unit}.l0_reverse`, `${l.name}_bwd`);
  return [`  layer ${l.name}_fwd = ${cell(l.cell, l.act)}`, `  layer ${l.name}_bwd = ${cell(l.cellBwd, l.actBwd ?? l.act)}`];
}

/** The spec text of a model from its parts. */
export function writeModel(parts: ModelParts, source: string, origin: string): DerivedSpec {
  const names = new Map<string, string>();
  const decls = parts.layers.flatMap((l) => declare(l, names));
  // The stdlib cells a layer (or a direction of one) takes as they are.
  const cells = [...new Set(parts.layers.flatMap((l) => ("cell" in l && l.direction === "bidirectional" ? [l.cell, l.cellBwd] : ["cell" in l ? l.cell : undefined]).some((c) => c === undefined) ? [l.kind] : []))].sort();
  const text = [
    `// Written by rnnc import from ${source.replace(/[\r\n]/g, " ")}: ${origin}.`,
    "// Check the model's wiring against the source's; the weights file beside this one fits it.",
    ...(parts.notes ?? []).map((n) => `// ${n.replace(/[\r\n]/g, " ")}`),
    ...(cells.length ? [`import { ${cells.join(", ")} } from "std"`, ""] : []),
    ...(parts.cells ?? []),
    "model Imported {",
    ...parts.inputs.map((i) => `  input ${i.name}: ${i.type}`),
    ...decls,
    ...parts.defs.map((d) => `  ${d.name} = ${d.expr}`),
    ...parts.outputs.map((o) => `  output ${o.name} = ${o.expr}`),
    "}",
    "",
  ].join("\n");
  return { text, model: "Imported", names };
}

/** The spec text of a chain of layers: the layers, then the model applying them in order. */
export function writeSpec(steps: readonly Step[], tokens: boolean, source: string, cannot: (why: string) => RnncError, origin = "the layers on its graph's data path"): DerivedSpec {
  const layers = steps.flatMap((s) => ("layer" in s ? [s.layer] : []));
  if (!layers.length) throw cannot("no layer was found between its input and its output");
  const first = layers[0]!;
  const inputShape = first.kind === "Embedding" ? "[T] int" : `[T, ${first.I}]`;
  if (tokens !== (first.kind === "Embedding")) throw cannot(tokens ? "its input is token ids but its first layer is not an embedding" : "its first layer is an embedding of a float input");
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
    if (l.kind === "Embedding" || l.kind === "Dense") value = seq ? `map(${l.name}, ${value})` : `${l.name}(${value})`;
    else if (!seq) throw cannot(`recurrent layer ${l.name} comes after the last step was taken`);
    else value = l.direction === "bidirectional" ? `bidirectional(${l.name}_fwd, ${l.name}_bwd, ${value})` : `scan(${l.name}, ${value}${l.direction === "reverse" ? ", reverse = true" : ""})`;
  }
  return writeModel({ inputs: [{ name: "x", type: inputShape }], layers, defs: [], outputs: [{ name: "y", expr: value }] }, source, `${origin}, in order`);
}
