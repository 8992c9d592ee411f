// Traces for programs: a model run on the interpreter with every gate and state recorded (`rnnc run --trace`), and the page that shows them (`rnnc trace`).
import { createHash } from "node:crypto";
import { UsageError } from "../diagnostics/errors.js";
import { closestNames } from "../diagnostics/suggest.js";
import { traceableValues, traceModel, type TracedUse } from "../interp/trace.js";
import type { ModelOutput, ModelRunInput } from "../interp/run-model.js";
import { nodeHost } from "../node/host.js";
import { pictureSvg } from "../picture/draw.js";
import { cellPicture, modelPicture } from "../picture/graph.js";
import { layOut } from "../picture/layout.js";
import { lineAt, lineColOf } from "../picture/text.js";
import { TRACE_SCRIPT, tracePage } from "../picture/trace-page.js";
import { toNested } from "../runtime/tensor.js";
import type { CellIR, ModelIR } from "../ir/ir.js";
import type { DimEnv } from "../runtime/dims.js";
import type { ParamSpec } from "../weights/weights.js";
import type { Model, Weights } from "./model.js";
import { fileLocator } from "./picture.js";

/**
 * Which values a trace keeps: every one (`all`, or nothing given), else each name given, as a cell names it (`f`,
 * `attend.weights`: in every layer that has it) or with its layer (`decoder.attend.weights`).
 */
export function tracePicker(model: Model, names: readonly string[] | undefined): (layer: string, value: string) => boolean {
  if (!names?.length || names.includes("all")) return () => true;
  const known = model.ir.layers.flatMap((l) => traceableValues(l.ir).map((x) => ({ layer: l.name, value: x.value.name })));
  const all = [...new Set(known.flatMap((k) => [k.value, `${k.layer}.${k.value}`]))];
  for (const n of names) if (!all.includes(n)) {
    const near = closestNames(n, all);
    throw new UsageError(`--trace ${n}: no layer of model \`${model.name}\` has a value of that name${near.length ? ` (did you mean ${near.slice(0, 3).join(", ")}?)` : ""}; its values: ${all.slice(0, 40).join(", ")}${all.length > 40 ? ", …" : ""}`);
  }
  return (layer, value) => names.includes(value) || names.includes(`${layer}.${value}`);
}

/** The values `--trace NAMES` keeps (a comma-separated list; `all` for every one), checked against what a model or cell has. */
export function pickValues(t: { kind: "model"; ir: ModelIR; env: DimEnv; specs: ParamSpec[] } | { kind: "cell"; ir: CellIR }, names: string, flag = "--trace"): (layer: string, value: string) => boolean {
  const list = names.split(",").map((x) => x.trim()).filter((x) => x.length);
  if (!list.length) throw new UsageError(`${flag} needs value names (e.g. f,i,c, decoder.attend.weights) or all`);
  if (t.kind === "model") return tracePicker({ name: t.ir.name, ir: t.ir, env: t.env, params: t.specs }, list);
  if (list.includes("all")) return () => true;
  const known = traceableValues(t.ir).map((x) => x.value.name);
  for (const n of list) if (!known.includes(n)) throw new UsageError(`${flag} ${n}: cell \`${t.ir.name}\` has no value of that name; its values: ${known.join(", ")}`);
  return (_l, v) => list.includes(v);
}

/** The model run on the interpreter (the same outputs as `run`'s) with the picked values of every layer recorded at every step. */
export function traceRun(model: Model, weights: Weights, input: ModelRunInput, pick: (layer: string, value: string) => boolean = () => true): { outputs: Record<string, ModelOutput>; uses: TracedUse[] } {
  return traceModel(model.ir, model.env, weights, input, "f32", pick);
}

/** A trace as JSON data: per example and layer use, each value's steps as nested arrays. */
export function traceJson(uses: readonly TracedUse[]): object[] {
  return uses.map((u) => ({
    example: u.example, layer: u.layer, cell: u.cell, construct: u.construct, steps: u.steps.length,
    values: Object.fromEntries(u.values.map((v, k) => [v.name, u.steps.map((s) => toNested(s[k]!))])),
  }));
}

export interface TracePageOptions {
  /** Rows of a heat map at most (a state's first units); 32 by default. */
  readonly maxRows?: number;
  readonly notes?: readonly string[];
}

/** What a trace ran: a model (its picture, then each traced layer's cell), or a cell alone. */
export type Traced = { readonly kind: "model"; readonly ir: ModelIR } | { readonly kind: "cell"; readonly ir: CellIR };

/** The self-contained page: the pictures, then every traced value as a heat map. */
export async function tracePageOf(t: Traced, uses: readonly TracedUse[], o: TracePageOptions = {}): Promise<string> {
  // (each file read once, for the pictures' lines and the equations alike)
  const texts = new Map<string, string | undefined>();
  const text = (f: string) => { if (!texts.has(f)) texts.set(f, nodeHost.readFile(f)); return texts.get(f); };
  const locate = fileLocator(text);
  const notes = [...(o.notes ?? [])];
  const pictures: { heading: string; svg: string }[] = [];
  const wanted = t.kind === "cell" ? [[`cell ${t.ir.name}`, cellPicture(t.ir)] as const] : [[`model ${t.ir.name}`, modelPicture(t.ir)] as const,
    ...t.ir.layers.filter((l) => uses.some((u) => u.layer === l.name)).map((l) => [`layer ${l.name}: cell ${l.ir.name}`, cellPicture(l.ir)] as const)];
  for (const [heading, p] of wanted) {
    const laid = await layOut(p);
    if ("tooLarge" in laid) notes.push(`${heading}: not drawn (${laid.tooLarge})`);
    else pictures.push({ heading, svg: pictureSvg(laid, locate) });
  }
  const equation = (_u: TracedUse, v: TracedUse["values"][number]) => {
    const where = lineColOf(text(v.file), v.start);
    return `${lineAt(text(v.file), v.start)}    (${v.file}:${where.line})`;
  };
  const hash = createHash("sha256").update(TRACE_SCRIPT, "utf8").digest("base64");
  return tracePage({ title: `trace of ${t.kind} ${t.ir.name}`, pictures, uses, equation, maxRows: o.maxRows ?? 32, notes }, hash);
}
