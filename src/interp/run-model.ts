// The reference interpreter for models: one example at a time, sequences as lists of steps of each example's own length.
import { RnncError } from "../diagnostics/errors.js";
import { setOwn } from "../runtime/record.js";
import type { LayerInfo, ModelIR, Node, NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { concreteShape, layerEnv, type DimEnv } from "../runtime/dims.js";
import { validateModelInputs } from "../runtime/validate-inputs.js";
import { lastAxis } from "./kernels.js";
import { mulberry32, seedFor } from "../runtime/random.js";
import { CellStepper, kernel, withPrecision } from "./stepper.js";
import { alloc, index0, stack, type Precision, type Tensor } from "../runtime/tensor.js";
import type { ModelOutput, ModelRunInput, Stepper, StepperFactory } from "../runtime/run-types.js";

export type { ModelOutput, ModelRunInput, Stepper, StepperFactory };

type Value =
  | { readonly kind: "one"; readonly t: Tensor }
  | { readonly kind: "seq"; readonly steps: readonly Tensor[] }
  | { readonly kind: "states"; readonly states: ReadonlyMap<string, Tensor> };

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

const interpreted: StepperFactory = (l, env, params, p, initial) => new CellStepper(l.ir, env, params, p, initial);

export class ModelRunner {
  private readonly layers: Map<string, { info: LayerInfo; env: Map<string, number>; params: Map<string, Tensor> }>;

  /** `makeStepper` runs the layers (default: the interpreter's own steppers). */
  constructor(readonly ir: ModelIR, private readonly env: DimEnv, params: ReadonlyMap<string, Tensor>, private readonly p: Precision = "f32",
    private readonly makeStepper: StepperFactory = interpreted) {
    this.layers = new Map(ir.layers.map((l) => {
      const prefix = `${l.name}.`;
      const own = new Map([...params].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), withPrecision(t, p)]));
      return [l.name, { info: l, env: layerEnv(l, env), params: own }];
    }));
  }

  private stepper(layer: string, initial: Map<string, Tensor> = new Map()): Stepper {
    const l = this.layers.get(layer)!;
    return this.makeStepper(l.info, l.env, l.params, this.p, initial);
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
    const batch = validateModelInputs(ir, this.env, input.inputs, input.lengths);
    const perExample: Value[][] = [];
    for (let b = 0; b < batch; b++) perExample.push(this.example(input, b));
    const out: Record<string, ModelOutput> = {};
    for (const o of ir.outputs) {
      const node = ir.nodes[o.node]!;
      const vals = perExample.map((v) => v[o.node]!);
      const first = vals[0]!;
      if (first.kind === "states") {
        const names = [...first.states.keys()];
        setOwn(out, o.name, { states: Object.fromEntries(names.map((n) => [n, stack(vals.map((v) => asStates(v).get(n)!), [...first.states.get(n)!.shape], p)])) });
      } else if (first.kind === "one") {
        setOwn(out, o.name, { tensor: stack(vals.map(asOne), [...first.t.shape], p) });
      } else {
        const seqs = vals.map(asSeq);
        const shape = concreteShape(node.shape, this.env, `output ${o.name}`);
        const T = Math.max(0, ...seqs.map((s) => s.length));
        const pad = alloc(shape, p);
        setOwn(out, o.name, {
          tensor: stack(seqs.map((s) => stack(Array.from({ length: T }, (_, t) => s[t] ?? pad), shape, p)), [T, ...shape], p),
          lengths: seqs.map((s) => s.length),
        });
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
      case Op.States: return { kind: "states", states: new Map(n.attrs.names!.map((name, k) => [name, asOne(v[n.args[k]!]!)])) };
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
