// A model's summary: its layers as a table (cell, how it is applied, input and output shapes symbolic and
// concrete, states, parameter counts) with the total: the listing Keras' model.summary() gives.
import { dimToString, evalDim, substDim, type Shape } from "../ir/dims.js";
import type { LayerInfo, ModelIR } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import type { DimEnv } from "../runtime/dims.js";
import { modelParamSpecs } from "../weights/weights.js";

/** One layer's row (and the rows of a composite cell's own layers, by the names of their params). */
export interface LayerRow {
  readonly name: string;
  readonly cell: string;
  readonly applied: string;
  readonly input: string;
  readonly output: string;
  readonly states: string;
  readonly params: number;
  readonly parts: readonly { readonly name: string; readonly params: number }[];
}

export interface Summary {
  readonly model: string;
  readonly dims: Readonly<Record<string, number>>;
  readonly inputs: readonly string[];
  readonly layers: readonly LayerRow[];
  readonly outputs: readonly string[];
  readonly total: number;
}

/**
 * A shape in the model's dims and, where it differs, with their values: `[E] = [16]`; `lead` axes (batch, time) come
 * first in both.
 */
function both(shape: Shape, l: LayerInfo | undefined, env: DimEnv, int = false, lead: readonly string[] = []): string {
  const model = shape.map((d) => (l ? substDim(d, l.dims)! : d));
  const sym = `[${[...lead, ...model.map(dimToString)].join(", ")}]${int ? " int" : ""}`;
  const num = `[${[...lead, ...model.map((d) => evalDim(d, env) ?? dimToString(d))].join(", ")}]${int ? " int" : ""}`;
  return sym === num ? sym : `${sym} = ${num}`;
}

/** The leading axes of a model value: the batch, then its time axis (a generated sequence's is its own `steps`). */
const leading = (seq: string | undefined): string[] => ["batch", ...(seq ? [seq.includes("@") ? "steps" : seq] : [])];

export function summarize(ir: ModelIR, env: DimEnv): Summary {
  const specs = modelParamSpecs(ir, env);
  const count = (prefix: string) => specs.filter((s) => s.name.startsWith(prefix)).reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  const layers = [...ir.layers].sort((a, b) => a.span.start - b.span.start).map((l): LayerRow => {
    const uses = ir.nodes.filter((n) => n.attrs.layer === l.name).map((n) => `${n.op}${n.op === Op.Scan && n.attrs.reverse ? " (reverse)" : ""}${n.attrs.hasInit ? " (init)" : ""}`);
    const opts = [...l.ir.options].map(([k, v]) => `${k} = ${v}`);
    const cell = `${l.ir.name}<${l.ir.dims.map((d) => dimToString(l.dims.get(d.name)!)).join(", ")}>${opts.length ? `(${opts.join(", ")})` : ""}`;
    const inner = new Set(l.ir.params.map((p) => p.name.split(".")).filter((p) => p.length > 1).map((p) => p[0]!));
    return {
      name: l.name, cell, applied: [...new Set(uses)].join(", ") || "unused",
      input: l.ir.inputs.map((i) => both(i.shape, l, env, i.dtype === "int")).join(", "),
      output: l.ir.outputs.slice(0, 1).map((o) => both(l.ir.nodes[o.node]!.shape, l, env)).join(""),
      states: l.ir.states.map((s) => `${s.name} ${both(s.shape, l, env)}`).join(", ") || "—",
      params: count(`${l.name}.`),
      parts: [...inner].map((p) => ({ name: p, params: count(`${l.name}.${p}.`) })),
    };
  });
  return {
    model: ir.name,
    dims: Object.fromEntries(ir.dims.map((d) => [d.name, env.get(d.name)!])),
    inputs: ir.inputs.map((i) => `${i.name}: ${both(i.shape, undefined, env, i.dtype === "int", leading(i.seq))}`),
    layers,
    outputs: ir.outputs.map((o) => {
      const n = ir.nodes[o.node]!;
      return n.op === Op.Final || n.op === Op.States ? `${o.name}: states` : `${o.name}: ${both(n.shape, undefined, env, n.dtype === "int", leading(n.seq))}`;
    }),
    total: specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0),
  };
}

/** The summary as a table in plain text. */
export function summaryText(s: Summary): string {
  const n = (x: number) => x.toLocaleString("en-US");
  const head = ["layer", "cell", "applied", "input → output", "states", "params"];
  const rows: string[][] = [];
  for (const l of s.layers) {
    rows.push([l.name, l.cell, l.applied, `${l.input} → ${l.output}`, l.states, n(l.params)]);
    for (const p of l.parts) rows.push([`  ${p.name}`, "", "", "", "", n(p.params)]);
  }
  const widths = head.map((h, k) => Math.max(h.length, ...rows.map((r) => [...r[k]!].length)));
  const line = (r: readonly string[]) => r.map((c, k) => (k === r.length - 1 ? c.padStart(widths[k]!) : c.padEnd(widths[k]!))).join("  ").trimEnd();
  const rule = "─".repeat(widths.reduce((a, w) => a + w, 0) + 2 * (widths.length - 1));
  return [
    `model ${s.model}<${Object.entries(s.dims).map(([k, v]) => `${k} = ${v}`).join(", ")}>`,
    ...s.inputs.map((i) => `  input ${i}`),
    "",
    line(head), rule, ...rows.map(line), rule,
    `total: ${n(s.total)} params (${(4 * s.total / 1024).toFixed(1)} KiB as float32)`,
    "",
    ...s.outputs.map((o) => `  output ${o}`),
    "",
  ].join("\n");
}
