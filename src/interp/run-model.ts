// The reference interpreter for models: one example at a time, sequences as lists of steps of each example's own length.
import { RnncError } from "../errors.js";
import type { LayerInfo, ModelIR, Node, NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { layerEnv } from "../weights/weights.js";
import { concreteShape, type DimEnv } from "./instantiate.js";
import { lastAxis } from "./kernels.js";
import { mulberry32, seedFor } from "./random.js";
import { CellStepper, kernel, withPrecision } from "./stepper.js";
import { alloc, index0, stack, type Precision, type Tensor } from "./tensor.js";

type Value =
  | { readonly kind: "one"; readonly t: Tensor }
  | { readonly kind: "seq"; readonly steps: readonly Tensor[] }
  | { readonly kind: "states"; readonly states: ReadonlyMap<string, Tensor> };

export interface ModelRunInput {
  /** Per input: sequences [batch, time, ...], single values [batch, ...]. */
  readonly inputs: Readonly<Record<string, Tensor>>;
  /** Per sequence input, each example's length (≤ time); steps past it are padding. */
  readonly lengths?: Readonly<Record<string, readonly number[]>>;
  /** Seed of sampling in `generate` at temperature > 0. */
  readonly seed?: number;
}

export interface ModelOutput {
  /** [batch, time, ...] for sequences (zero past each length), [batch, ...] for single values. */
  readonly tensor?: Tensor;
  readonly lengths?: number[];
  /** For final states: each state [batch, ...]. */
  readonly states?: Record<string, Tensor>;
}

function asOne(v: Value): Tensor {
  if (v.kind !== "one") throw new Error(`internal: expected a single value, got ${v.kind}`);
  return v.t;
}
function asSeq(v: Value): readonly Tensor[] {
  if (v.kind !== "seq") throw new Error(`internal: expected a sequence, got ${v.kind}`);
  return v.steps;
}
function asStates(v: Value): ReadonlyMap<string, Tensor> {
  if (v.kind !== "states") throw new Error(`internal: expected states, got ${v.kind}`);
  return v.states;
}

const scalar = (v: number, p: Precision): Tensor => {
  const t = alloc([], p);
  t.data[0] = v;
  return t;
};

function argmax(t: Tensor): number {
  let best = 0;
  for (let i = 1; i < t.data.length; i++) if (t.data[i]! > t.data[best]!) best = i;
  return best;
}

export class ModelRunner {
  private readonly layers: Map<string, { info: LayerInfo; env: Map<string, number>; params: Map<string, Tensor> }>;

  constructor(readonly ir: ModelIR, private readonly env: DimEnv, params: ReadonlyMap<string, Tensor>, private readonly p: Precision = "f32") {
    this.layers = new Map(ir.layers.map((l) => {
      const prefix = `${l.name}.`;
      const own = new Map([...params].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), withPrecision(t, p)]));
      return [l.name, { info: l, env: layerEnv(l, env), params: own }];
    }));
  }

  private stepper(layer: string, initial: Map<string, Tensor> = new Map()): CellStepper {
    const l = this.layers.get(layer)!;
    return new CellStepper(l.info.ir, l.env, l.params, this.p, initial);
  }

  /** Initial states from an `init` value: a record in order, or one value for the first state. */
  private initial(layer: string, init: Value | undefined): Map<string, Tensor> {
    if (!init) return new Map();
    const names = this.layers.get(layer)!.info.ir.states.map((s) => s.name);
    if (init.kind === "states") return new Map([...init.states.values()].map((t, i) => [names[i]!, t]));
    if (init.kind === "one") return new Map([[names[0]!, init.t]]);
    throw new Error("internal: a sequence as initial state");
  }

  run(input: ModelRunInput): Record<string, ModelOutput> {
    const { ir, p } = this;
    const batch = this.validate(input);
    const perExample: Value[][] = [];
    for (let b = 0; b < batch; b++) perExample.push(this.example(input, b));
    const out: Record<string, ModelOutput> = {};
    for (const o of ir.outputs) {
      const node = ir.nodes[o.node]!;
      const vals = perExample.map((v) => v[o.node]!);
      const first = vals[0]!;
      if (first.kind === "states") {
        const names = [...first.states.keys()];
        out[o.name] = { states: Object.fromEntries(names.map((n) => [n, stack(vals.map((v) => asStates(v).get(n)!), [...first.states.get(n)!.shape], p)])) };
      } else if (first.kind === "one") {
        out[o.name] = { tensor: stack(vals.map(asOne), [...first.t.shape], p) };
      } else {
        const seqs = vals.map(asSeq);
        const shape = concreteShape(node.shape, this.env, `output ${o.name}`);
        const T = Math.max(0, ...seqs.map((s) => s.length));
        const pad = alloc(shape, p);
        out[o.name] = {
          tensor: stack(seqs.map((s) => stack(Array.from({ length: T }, (_, t) => s[t] ?? pad), shape, p)), [T, ...shape], p),
          lengths: seqs.map((s) => s.length),
        };
      }
    }
    return out;
  }

  private example(input: ModelRunInput, b: number): Value[] {
    const { ir, p, env } = this;
    const v: Value[] = [];
    const one = (id: NodeId): Tensor => asOne(v[id]!);
    const seqOf = (id: NodeId): readonly Tensor[] => asSeq(v[id]!);
    for (const n of ir.nodes) v[n.id] = this.evaluate(n, v, one, seqOf, input, b, env, p);
    return v;
  }

  private evaluate(n: Node, v: Value[], one: (id: NodeId) => Tensor, seqOf: (id: NodeId) => readonly Tensor[], input: ModelRunInput, b: number, env: DimEnv, p: Precision): Value {
    const layer = n.attrs.layer;
    switch (n.op) {
      case Op.Input: {
        const t = index0(input.inputs[n.attrs.name!]!, b, p);
        if (!n.seq) return { kind: "one", t };
        const len = input.lengths?.[n.attrs.name!]?.[b] ?? t.shape[0]!;
        return { kind: "seq", steps: Array.from({ length: len }, (_, k) => index0(t, k, p)) };
      }
      case Op.Apply: {
        const ins = new Map(this.layers.get(layer!)!.info.ir.inputs.map((inp, k) => [inp.name, one(n.args[k]!)]));
        return { kind: "one", t: firstOut(this.stepper(layer!).step(ins), this.layers.get(layer!)!.info) };
      }
      case Op.Map: case Op.Scan: {
        const info = this.layers.get(layer!)!.info;
        const xs = info.ir.inputs.map((_, k) => seqOf(n.args[k]!));
        const init = n.attrs.hasInit ? v[n.args[n.args.length - 1]!] : undefined;
        const T = xs[0]!.length;
        const steps: Tensor[] = new Array(T);
        let s = this.stepper(layer!, this.initial(layer!, init));
        for (let k = 0; k < T; k++) {
          const t = n.attrs.reverse ? T - 1 - k : k;
          if (n.op === Op.Map) s = this.stepper(layer!);
          steps[t] = firstOut(s.step(new Map(info.ir.inputs.map((inp, j) => [inp.name, xs[j]![t]!]))), info);
        }
        this.finals.set(n.id, s.states());
        return { kind: "seq", steps };
      }
      case Op.Generate: {
        const info = this.layers.get(layer!)!.info;
        const init = n.attrs.hasInit ? v[n.args[0]!] : undefined;
        const s = this.stepper(layer!, this.initial(layer!, init));
        const rng = mulberry32(seedFor(input.seed ?? 0, `generate:${n.id}:${b}`));
        const tokens = n.dtype === "int";
        let x = tokens ? scalar(n.attrs.startToken!, p) : one(n.args[n.attrs.hasInit ? 1 : 0]!);
        const steps: Tensor[] = [];
        for (let k = 0; k < n.attrs.steps!; k++) {
          const y = firstOut(s.step(new Map([[info.ir.inputs[0]!.name, x]])), info);
          if (!tokens) { steps.push(y); x = y; continue; }
          const next = n.attrs.temperature! > 0 ? sample(y, n.attrs.temperature!, rng, p) : argmax(y);
          if (next === n.attrs.until) break;
          x = scalar(next, p);
          steps.push(x);
        }
        this.finals.set(n.id, s.states());
        return { kind: "seq", steps };
      }
      case Op.Final: return { kind: "states", states: this.finals.get(n.args[0]!)! };
      case Op.Field: return { kind: "one", t: asStates(v[n.args[0]!]!).get(n.attrs.name!)! };
      case Op.Last: {
        const steps = seqOf(n.args[0]!);
        if (!steps.length) throw new RnncError("RNN0605", "`last` of an empty sequence: a length is 0", ["every sequence needs at least one step"]);
        return { kind: "one", t: steps[steps.length - 1]! };
      }
      default: {
        const args = n.args.map((a) => v[a]!);
        const seqArg = args.find((a) => a.kind === "seq");
        if (!seqArg) return { kind: "one", t: kernel(n, args.map(asOne), env, p) };
        const steps = asSeq(seqArg).map((_, t) => kernel(n, args.map((a) => (a.kind === "seq" ? a.steps[t]! : asOne(a))), env, p));
        return { kind: "seq", steps };
      }
    }
  }

  private readonly finals = new Map<NodeId, Map<string, Tensor>>();

  /** Checks inputs and lengths against the model; returns the batch size. */
  private validate(input: ModelRunInput): number {
    const { ir, env } = this;
    let B: number | undefined;
    const seqLen = new Map<string, { T: number; lengths: readonly number[] | undefined; from: string }>();
    for (const k of Object.keys(input.inputs))
      if (!ir.inputs.some((i) => i.name === k)) throw new RnncError("RNN0605", `model \`${ir.name}\` has no input \`${k}\``, [`its inputs are ${ir.inputs.map((i) => i.name).join(", ")}`]);
    for (const inp of ir.inputs) {
      const t = input.inputs[inp.name];
      const shape = concreteShape(inp.shape, env, `input ${inp.name}`);
      const expected = `[${B ?? "batch"}${inp.seq ? `, ${inp.seq}` : ""}${shape.map((d) => `, ${d}`).join("")}]`;
      if (!t) throw new RnncError("RNN0605", `missing input \`${inp.name}\``, [`model \`${ir.name}\` needs \`${inp.name}\` shaped ${expected}`]);
      const lead = inp.seq ? 2 : 1;
      if (t.shape.length !== shape.length + lead || shape.some((d, i) => t.shape[i + lead] !== d) || (B !== undefined && t.shape[0] !== B))
        throw new RnncError("RNN0605", `input \`${inp.name}\` has shape [${t.shape.join(", ")}], expected ${expected}`,
          ["inputs are nested arrays, batch first; sequences then have their time axis"]);
      B = t.shape[0];
      if (inp.dtype === "int" && !Array.from(t.data).every(Number.isInteger)) throw new RnncError("RNN0605", `input \`${inp.name}\` holds token ids, which must be whole numbers`);
      const lengths = input.lengths?.[inp.name];
      if (!inp.seq) {
        if (lengths) throw new RnncError("RNN0605", `input \`${inp.name}\` is not a sequence, so it takes no lengths`);
        continue;
      }
      const T = t.shape[1]!;
      if (lengths && (lengths.length !== B || lengths.some((l) => !Number.isInteger(l) || l < 1 || l > T)))
        throw new RnncError("RNN0605", `lengths of \`${inp.name}\` must be ${B} whole numbers from 1 to ${T}, got [${lengths.join(", ")}]`);
      const prev = seqLen.get(inp.seq);
      if (prev && (prev.T !== T || JSON.stringify(prev.lengths ?? null) !== JSON.stringify(lengths ?? null)))
        throw new RnncError("RNN0605", `inputs \`${prev.from}\` and \`${inp.name}\` share the length ${inp.seq} but differ in length`, ["sequences declared with the same length name are aligned step by step"]);
      seqLen.set(inp.seq, { T, lengths, from: inp.name });
    }
    for (const k of Object.keys(input.lengths ?? {}))
      if (!ir.inputs.some((i) => i.name === k)) throw new RnncError("RNN0605", `lengths given for \`${k}\`, which is not an input`);
    return B ?? 1;
  }
}

function firstOut(outs: Map<string, Tensor>, info: LayerInfo): Tensor {
  return outs.get(info.ir.outputs[0]!.name)!;
}

/** Samples an index from softmax(logits / temperature). */
function sample(logits: Tensor, temperature: number, rng: () => number, p: Precision): number {
  const scaled = alloc(logits.shape, p);
  for (let i = 0; i < scaled.data.length; i++) scaled.data[i] = logits.data[i]! / temperature;
  const probs = lastAxis(Op.Softmax, scaled, "f64");
  let r = rng();
  for (let i = 0; i < probs.data.length; i++) {
    r -= probs.data[i]!;
    if (r <= 0) return i;
  }
  return probs.data.length - 1;
}

export function runModel(ir: ModelIR, env: DimEnv, params: ReadonlyMap<string, Tensor>, input: ModelRunInput, precision: Precision = "f32"): Record<string, ModelOutput> {
  return new ModelRunner(ir, env, params, precision).run(input);
}
