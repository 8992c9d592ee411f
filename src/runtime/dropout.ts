// Dropout in training: each `dropout(x, p)` becomes x times a random mask that the model takes as one more input.
import { RnncError } from "../diagnostics/errors.js";
import { dimAsName, substDim, type Shape } from "../ir/dims.js";
import { reachable } from "../ir/graph.js";
import type { Attrs, CellIR, InputInfo, LayerInfo, ModelInputInfo, ModelIR, Node, NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { concreteShape, type DimEnv } from "./dims.js";
import { sizeOf, type Tensor } from "./tensor.js";
import type { Batch } from "./training.js";

type Span = Node["span"];

/**
 * One mask the training form of a model takes as an input (batch first, like the data): its elements are 0 with
 * probability `rate` and 1/(1-rate) otherwise. Between layers a sequence's mask is drawn anew at every step; inside a
 * cell one mask per sequence serves every step (variational dropout, Gal & Ghahramani 2016, as Keras' `dropout` and
 * `recurrent_dropout` do), so a unit dropped from a recurrent connection stays dropped for the whole sequence.
 */
export interface MaskSpec {
  /** The model input that carries it (a name no spec can declare). */
  readonly input: string;
  readonly rate: number;
  /** Per example and step. */
  readonly shape: Shape;
  /** A sequence: the model input whose steps (and lengths) it spans. */
  readonly stepsOf?: string;
  /** A new mask at every step (between layers), or one per sequence repeated over its steps (inside a cell). */
  readonly perStep: boolean;
}

/** A model as it trains with dropout on, and the masks it takes. */
export interface DropoutTraining { readonly ir: ModelIR; readonly masks: readonly MaskSpec[] }

/** Mask inputs are named with a character identifiers cannot hold, so no model's own input is one. */
const maskName = (k: number): string => `#dropout${k}`;

/**
 * The training form of `ir` for `output`: every dropout site it reaches becomes a product with a mask input (one
 * mask per distinct value and rate in a cell, so a cell's gates share their input's mask and its products still
 * stack), or undefined when nothing it reaches drops anything. Everywhere else (running, evaluating, every compile
 * target) dropout is the identity, as the op table defines it.
 */
export function dropoutTraining(ir: ModelIR, output: string): DropoutTraining | undefined {
  const out = ir.outputs.find((o) => o.name === output);
  if (!out) return undefined;
  const live = new Set(reachable(ir.nodes, [out.node]).map((n) => n.id));
  const layerSites = new Map(ir.layers.map((l) => [l.name, cellSites(l.ir)]));
  const masks: MaskSpec[] = [];
  const liveNodes = ir.nodes.filter((n) => live.has(n.id));
  const used = new Set(liveNodes.flatMap((n) => (n.attrs.layer && (layerSites.get(n.attrs.layer)?.length ?? 0) > 0 ? [n.attrs.layer] : [])));
  if (!used.size && !liveNodes.some((n) => n.op === Op.Dropout)) return undefined;
  const nodes: Node[] = [];
  const inputs: ModelInputInfo[] = [...ir.inputs];
  const map = new Map<NodeId, NodeId>();
  const add = (op: Op, args: readonly NodeId[], shape: Shape, span: Span, attrs: Attrs, seq: string | undefined, batched: boolean): NodeId => {
    const id = nodes.length;
    nodes.push(Object.freeze({ id, op, args: Object.freeze([...args]), shape, dtype: "float" as const, batched, attrs: Object.freeze({ ...attrs }), span, ...(seq ? { seq } : {}) }));
    return id;
  };
  /** A new mask input (seq: the time symbol of the sequence it spans) and its node. */
  const maskInput = (rate: number, shape: Shape, seq: string | undefined, perStep: boolean, span: Span, where: string): NodeId => {
    const name = maskName(masks.length);
    const stepsOf = seq === undefined ? undefined : ir.inputs.find((i) => i.seq === seq)?.name;
    if (seq !== undefined && stepsOf === undefined)
      throw new RnncError("RNN0605", `dropout in ${where} runs over a sequence of length ${seq}, which no input of model \`${ir.name}\` gives`, ["training draws a dropout mask for each step of a sequence the data gives"], "apply dropout where the sequence comes from an input, or set its probability to 0");
    masks.push({ input: name, rate, shape, perStep, ...(stepsOf ? { stepsOf } : {}) });
    inputs.push({ name, shape, seq, dtype: "float", span });
    return add(Op.Input, [], shape, span, { name }, seq, true);
  };
  for (const n of ir.nodes) {
    const args = n.args.map((a) => map.get(a)!);
    const isLive = live.has(n.id);
    if (n.op === Op.Dropout && isLive) {
      const m = maskInput(n.attrs.rate!, n.shape, n.seq, true, n.span, "a model");
      map.set(n.id, add(Op.Mul, [args[0]!, m], n.shape, n.span, {}, n.seq, n.batched));
      continue;
    }
    const sites = n.attrs.layer && isLive ? layerSites.get(n.attrs.layer) ?? [] : [];
    if (sites.length && n.op === Op.Generate)
      throw new RnncError("RNN0605", `layer \`${n.attrs.layer}\` drops out values, and \`generate\` runs it in the output being trained`, ["generate feeds a layer its own outputs; training draws no dropout masks for it"], "train a teacher-forced scan of the layer instead, or set its dropout probabilities to 0");
    if (sites.length) {
      const layer = ir.layers.find((l) => l.name === n.attrs.layer)!;
      // The steps the masks span are those of the layer's first stepped input (not of a sequence it reads whole).
      const seq = n.op === Op.Apply ? undefined : ir.nodes[n.args[layer.ir.inputs.findIndex((i) => i.memory === undefined)]!]!.seq;
      const where = `layer \`${n.attrs.layer}\``;
      const whole = layer.ir.inputs.find((i) => i.memory !== undefined && sites.some((s) => s.shape[0] && dimAsName(s.shape[0]) === i.memory));
      if (whole) throw new RnncError("RNN0605", `layer \`${n.attrs.layer}\` drops out positions of \`${whole.name}\`, a sequence it reads whole, which training does not draw masks for yet`, ["a mask inside a cell is drawn per example for values of fixed size"], `drop out the sequence in the model before it is passed (\`dropout(enc, p)\`), where each step draws its own mask`);
      const extra = sites.map((s) => maskInput(s.rate, modelShape(s.shape, layer), seq, s.perStep, n.span, where));
      const xs = n.attrs.hasInit ? args.slice(0, -1) : args;
      const init = n.attrs.hasInit ? args.slice(-1) : [];
      map.set(n.id, add(n.op, [...xs, ...extra, ...init], n.shape, n.span, n.attrs, n.seq, n.batched));
      continue;
    }
    map.set(n.id, add(n.op, args, n.shape, n.span, n.attrs, n.seq, n.batched));
  }
  if (!masks.length) return undefined;
  const layers: LayerInfo[] = ir.layers.map((l) => (used.has(l.name) ? { ...l, ir: maskedCell(l.ir, layerSites.get(l.name)!) } : l));
  return { ir: { ...ir, inputs, layers, nodes, outputs: ir.outputs.map((o) => ({ ...o, node: map.get(o.node)! })) }, masks };
}

/** A cell's shape in the model's dims. */
function modelShape(shape: Shape, layer: LayerInfo): Shape {
  return shape.map((d) => {
    const m = substDim(d, layer.dims);
    if (!m) throw new Error(`internal: a dim of layer ${layer.name} has no value in its model`);
    return m;
  });
}

/** A cell's dropout sites: one per distinct value, rate and kind of mask, in node order. */
interface Site { readonly arg: NodeId; readonly rate: number; readonly perStep: boolean; readonly shape: Shape }
const sameSite = (s: Site, n: Node): boolean => s.arg === n.args[0] && s.rate === n.attrs.rate && s.perStep === (n.attrs.perStep === true);
function cellSites(cell: CellIR): Site[] {
  const sites: Site[] = [];
  for (const n of cell.nodes) if (n.op === Op.Dropout && !sites.some((s) => sameSite(s, n)))
    sites.push({ arg: n.args[0]!, rate: n.attrs.rate!, perStep: n.attrs.perStep === true, shape: n.shape });
  return sites;
}

/** The cell with each site's mask as one more input (after its own) and each dropout a product with it. */
function maskedCell(cell: CellIR, sites: readonly Site[]): CellIR {
  const nodes: Node[] = [];
  const map = new Map<NodeId, NodeId>();
  const maskNodes = new Map<number, NodeId>();
  const add = (n: Omit<Node, "id">): NodeId => {
    nodes.push(Object.freeze({ ...n, id: nodes.length }));
    return nodes.length - 1;
  };
  const maskInputs: InputInfo[] = sites.map((s, k) => ({ name: maskName(k), shape: s.shape, dtype: "float", span: cell.nodes[s.arg]!.span }));
  for (const n of cell.nodes) {
    const args = Object.freeze(n.args.map((a) => map.get(a)!));
    if (n.op !== Op.Dropout) {
      map.set(n.id, add({ ...n, args }));
      continue;
    }
    const k = sites.findIndex((s) => sameSite(s, n));
    let m = maskNodes.get(k);
    if (m === undefined) maskNodes.set(k, (m = add({ op: Op.Input, args: Object.freeze([]), shape: n.shape, dtype: "float", batched: true, attrs: Object.freeze({ name: maskName(k) }), span: n.span })));
    map.set(n.id, add({ op: Op.Mul, args: Object.freeze([args[0]!, m]), shape: n.shape, dtype: "float", batched: true, attrs: Object.freeze({}), span: n.span }));
  }
  return {
    ...cell,
    inputs: [...cell.inputs, ...maskInputs],
    nodes,
    states: cell.states.map((s) => ({ ...s, init: map.get(s.init)!, update: map.get(s.update)! })),
    values: cell.values.map((v) => ({ ...v, node: map.get(v.node)! })),
    outputs: cell.outputs.map((o) => ({ ...o, node: map.get(o.node)! })),
    ...(cell.inlined ? { inlined: cell.inlined.map((x) => ({ ...x, inputs: x.inputs.map((i) => map.get(i)!), ...(x.values ? { values: x.values.map((v) => ({ ...v, node: map.get(v.node)! })) } : {}) })) } : {}),
  };
}

/** For `--explain`: what training drops, and how. */
export function dropoutExplained(d: DropoutTraining): string {
  const kinds = d.masks.map((m) => `${m.rate}${m.perStep ? " (a mask every step)" : " (a mask per sequence)"}`);
  return `dropout: ${d.masks.length} mask${d.masks.length > 1 ? "s" : ""} in training (p = ${kinds.join(", ")}), drawn from the seed and the batch's number; off when evaluating, running and in compiled models\n`;
}

/** Where masks come from: a seed and the number of the step (each update's batches draw new ones), or all ones (evaluation). */
export type MaskDraw = { readonly seed: number; readonly step: number } | "ones";

/** The batch with every mask input added: drawn from (seed, step, mask, example, step, element) alone, so reproducible. */
export function withMasks(batch: Batch, d: DropoutTraining, env: DimEnv, draw: MaskDraw): Batch {
  const first = Object.values(batch.inputs)[0];
  const B = first?.shape[0] ?? 1;
  const inputs: Record<string, Tensor> = { ...batch.inputs };
  const lengths: Record<string, readonly number[]> = { ...batch.lengths };
  d.masks.forEach((m, k) => {
    const shape = concreteShape(m.shape, env, `dropout mask ${k}`);
    const size = sizeOf(shape);
    const T = m.stepsOf ? batch.inputs[m.stepsOf]?.shape[1] ?? 1 : 1;
    const data = new Float32Array(B * T * size);
    if (draw === "ones") data.fill(1);
    else {
      const key = hash32(hash32(hash32(draw.seed) ^ draw.step) + Math.imul(k + 1, 0x9e3779b1));
      const keep = 1 / (1 - m.rate);
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let i = 0; i < size; i++) {
        const at = m.perStep ? (b * T + t) * size + i : b * size + i;
        data[(b * T + t) * size + i] = uniform(key, at) < m.rate ? 0 : keep;
      }
    }
    Object.defineProperty(inputs, m.input, { value: { shape: m.stepsOf ? [B, T, ...shape] : [B, ...shape], data }, enumerable: true, configurable: true, writable: true });
    const given = m.stepsOf ? batch.lengths?.[m.stepsOf] : undefined;
    if (given) lengths[m.input] = given;
  });
  return { ...batch, inputs, ...(Object.keys(lengths).length ? { lengths } : {}) };
}

/** A uniform number in [0, 1) for element `i` of the draw `key`. */
function uniform(key: number, i: number): number {
  return hash32(key ^ hash32(i + 0x632be5ab)) / 4294967296;
}

/** An integer hash with full avalanche (Chris Wellons' lowbias32). */
function hash32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}
