// The reference interpreter for models: one example at a time, sequences as lists of steps of each example's own length.
import { RnncError } from "../diagnostics/errors.js";
import { setOwn } from "../runtime/record.js";
import type { LayerInfo, ModelIR, Node } from "../ir/ir.js";
import { driveModel, drivenValue, type Driven, type ModelBackend, type Scanned, type StatesOf } from "../ir/model-driver.js";
import { Op } from "../ir/ops.js";
import { concreteShape, layerEnv, type DimEnv } from "../runtime/dims.js";
import { evalDim, type Dim } from "../ir/dims.js";
import { validateModelInputs } from "../runtime/validate-inputs.js";
import { lastAxis } from "./kernels.js";
import { mulberry32, seedFor } from "../runtime/random.js";
import { beamSearch, logProbabilities } from "../runtime/beam.js";
import { CellStepper, kernel, withPrecision } from "./stepper.js";
import { alloc, index0, stack, type Precision, type Tensor } from "../runtime/tensor.js";
import type { ModelOutput, ModelRunInput, Stepper, StepperFactory, StepperUse } from "../runtime/run-types.js";

export type { ModelOutput, ModelRunInput, Stepper, StepperFactory, StepperUse };

/** One example's value: a single tensor, or a sequence as a list of its own steps. */
type Value = { readonly kind: "one"; readonly t: Tensor } | { readonly kind: "seq"; readonly steps: readonly Tensor[] };

function asOne(v: Value): Tensor {
  if (v.kind !== "one") throw new Error(`internal: expected a single value, got ${v.kind}`);
  return v.t;
}
function asSeq(v: Value): readonly Tensor[] {
  if (v.kind !== "seq") throw new Error(`internal: expected a sequence, got ${v.kind}`);
  return v.steps;
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

  private stepper(layer: string, initial: Map<string, Tensor> = new Map(), use?: StepperUse): Stepper {
    const l = this.layers.get(layer)!;
    return this.makeStepper(l.info, l.env, l.params, this.p, initial, use);
  }

  run(input: ModelRunInput): Record<string, ModelOutput> {
    const { ir, p } = this;
    const batch = validateModelInputs(ir, this.env, input.inputs, input.lengths);
    const perExample: Driven<Value>[][] = [];
    // (only what the outputs read: a node no output reaches is never run)
    const roots = ir.outputs.map((o) => o.node);
    for (let b = 0; b < batch; b++) perExample.push(driveModel(ir, this.backend(input, b), roots));
    const out: Record<string, ModelOutput> = {};
    for (const o of ir.outputs) {
      const node = ir.nodes[o.node]!;
      const vals = perExample.map((v) => v[o.node]!);
      const first = vals[0]!;
      if (first.kind === "states") {
        const recs = vals.map((v) => (v as Extract<Driven<Value>, { kind: "states" }>).states);
        const names = [...first.states.keys()];
        setOwn(out, o.name, { states: Object.fromEntries(names.map((n) => [n, stack(recs.map((r) => asOne(r.get(n)!)), [...asOne(first.states.get(n)!).shape], p)])) });
        continue;
      }
      const values = vals.map(drivenValue);
      // A shape over a sequence's positions (attention weights [S]) is as long as the longest example's, zero past each.
      const over = (ts: readonly Tensor[]): number[] | undefined => (hasSequenceAxis(node.shape, this.env) ? ts.reduce<number[]>((m, t) => t.shape.map((d, i) => Math.max(d, m[i] ?? 0)), []) : undefined);
      if (first.v.kind === "one") {
        const ones = values.map(asOne);
        const shape = over(ones) ?? [...first.v.t.shape];
        setOwn(out, o.name, { tensor: stack(ones.map((t) => paddedTo(t, shape, p)), shape, p) });
      } else {
        const seqs = values.map(asSeq);
        const shape = over(seqs.flat()) ?? concreteShape(node.shape, this.env, `output ${o.name}`);
        const T = Math.max(0, ...seqs.map((s) => s.length));
        const pad = alloc(shape, p);
        setOwn(out, o.name, {
          tensor: stack(seqs.map((s) => stack(Array.from({ length: T }, (_, t) => (s[t] ? paddedTo(s[t]!, shape, p) : pad)), shape, p)), [T, ...shape], p),
          lengths: seqs.map((s) => s.length),
        });
      }
    }
    return out;
  }

  /** The constructs for example `b` of the input: the definition of what each one means. */
  private backend(input: ModelRunInput, b: number): ModelBackend<Value> {
    const { p, env } = this;
    const info = (n: Node) => this.layers.get(n.attrs.layer!)!.info;
    return {
      input: (n) => {
        const t = index0(input.inputs[n.attrs.name!]!, b, p);
        if (!n.seq) return { kind: "one", t };
        const len = input.lengths?.[n.attrs.name!]?.[b] ?? t.shape[0]!;
        return { kind: "seq", steps: Array.from({ length: len }, (_, k) => index0(t, k, p)) };
      },
      constant: (n) => ({ kind: "one", t: kernel(n, [], env, p) }),
      pointwise: (n, args) => {
        const seqArg = args.find((a) => a.kind === "seq");
        if (!seqArg) return { kind: "one", t: kernel(n, args.map(asOne), env, p) };
        return { kind: "seq", steps: asSeq(seqArg).map((_, t) => kernel(n, args.map((a) => (a.kind === "seq" ? a.steps[t]! : asOne(a))), env, p)) };
      },
      [Op.Apply]: (n, xs) => {
        const l = info(n);
        return { kind: "one", t: firstOut(this.stepper(l.name, new Map(), { example: b, node: n.id }).step(new Map(l.ir.inputs.map((inp, k) => [inp.name, asOne(xs[k]!)]))), l) };
      },
      [Op.Map]: (n, xs) => this.scan(n, xs, undefined, b).seq,
      [Op.Scan]: (n, xs, init) => this.scan(n, xs, init, b),
      [Op.Generate]: (n, start, init, wholes) => {
        const l = info(n);
        const whole = this.wholeInputs(l, [undefined, ...wholes]);
        if ((n.attrs.beam ?? 1) > 1) return this.beamSearch(n, l, startOf(init), whole);
        const s = this.stepper(l.name, startOf(init), { example: b, node: n.id });
        const rng = mulberry32(seedFor(input.seed ?? 0, `generate:${n.id}:${b}`));
        const tokens = n.dtype === "int";
        let x = tokens ? scalar(n.attrs.startToken!, p) : asOne(start!);
        const steps: Tensor[] = [];
        for (let k = 0; k < n.attrs.steps!; k++) {
          const y = firstOut(s.step(new Map([[l.ir.inputs[0]!.name, x], ...whole])), l);
          if (!tokens) { steps.push(y); x = y; continue; }
          const next = n.attrs.temperature! > 0 ? sample(y, n.attrs.temperature!, rng, p) : argmax(y);
          if (next === n.attrs.until) break;
          x = scalar(next, p);
          steps.push(x);
        }
        return { seq: { kind: "seq", steps }, finals: finalsOf(s) };
      },
      [Op.Last]: (_n, seq) => {
        const steps = asSeq(seq);
        if (!steps.length) throw new RnncError("RNN0605", "`last` of an empty sequence: a length is 0", ["every sequence needs at least one step"]);
        return { kind: "one", t: steps[steps.length - 1]! };
      },
    };
  }

  /** generate with beam search: each hypothesis a stepper started from its parent's states, one step at a time. */
  private beamSearch(n: Node, l: LayerInfo, init: Map<string, Tensor>, whole: ReadonlyMap<string, Tensor>): Scanned<Value> {
    const probabilities = l.ir.nodes[l.ir.outputs[0]!.node]!.op === Op.Softmax;
    const [best] = beamSearch([init], { beam: n.attrs.beam!, steps: n.attrs.steps!, until: n.attrs.until!, start: n.attrs.startToken!, lengthNorm: n.attrs.lengthNorm ?? 0 }, (hyps) => {
      const stepped = hyps.map((h) => {
        const s = this.stepper(l.name, h.state);
        const y = firstOut(s.step(new Map([[l.ir.inputs[0]!.name, scalar(h.token, this.p)], ...whole])), l);
        return { logp: logProbabilities(y.data, probabilities), state: s.states() };
      });
      return { logp: stepped.map((x) => x.logp), states: stepped.map((x) => x.state) };
    });
    return { seq: { kind: "seq", steps: best!.tokens.map((t) => scalar(t, this.p)) }, finals: new Map([...best!.state].map(([k, t]) => [k, { kind: "one", t }])) };
  }

  /** The layer's inputs read whole, by name: each the example's sequence as one tensor [its length, …] (xs: by input, undefined for one stepped). */
  private wholeInputs(l: LayerInfo, xs: readonly (Value | undefined)[]): Map<string, Tensor> {
    const env = this.layers.get(l.name)!.env;
    return new Map(l.ir.inputs.flatMap((inp, j) => (inp.memory !== undefined ? [[inp.name, stack(asSeq(xs[j]!), concreteShape(inp.shape.slice(1), env, `input ${inp.name}`), this.p)] as const] : [])));
  }

  /** A scan (or a map: a fresh stepper every step) over one example's sequences. */
  private scan(n: Node, xs: readonly Value[], init: StatesOf<Value> | undefined, b: number): Scanned<Value> {
    const l = this.layers.get(n.attrs.layer!)!.info;
    const seqs = xs.map(asSeq);
    const inputs = l.ir.inputs;
    const whole = this.wholeInputs(l, xs);
    const stepped = inputs.flatMap((inp, j) => (inp.memory === undefined ? [[inp.name, seqs[j]!] as const] : []));
    const T = stepped[0]![1].length;
    const steps: Tensor[] = new Array(T);
    const use = { example: b, node: n.id };
    let s = this.stepper(l.name, startOf(init), use);
    for (let k = 0; k < T; k++) {
      const t = n.attrs.reverse ? T - 1 - k : k;
      if (n.op === Op.Map) s = this.stepper(l.name, new Map(), use);
      steps[t] = firstOut(s.step(new Map([...stepped.map(([name, seq]) => [name, seq[t]!] as const), ...whole])), l);
    }
    return { seq: { kind: "seq", steps }, finals: finalsOf(s) };
  }
}

/** Whether a shape has an axis no dim gives, a sequence's length (only known per example). */
const hasSequenceAxis = (shape: readonly Dim[], env: DimEnv): boolean => shape.some((d) => evalDim(d, env) === undefined);

/** `t` zero-padded at the end of each axis to `shape` (the same tensor when it has that shape). */
function paddedTo(t: Tensor, shape: readonly number[], p: Precision): Tensor {
  if (t.shape.every((d, i) => d === shape[i])) return t;
  const out = alloc(shape, p);
  const idx = t.shape.map(() => 0);
  for (let i = 0; i < t.data.length; i++) {
    let at = 0;
    for (let k = 0; k < idx.length; k++) at = at * shape[k]! + idx[k]!;
    out.data[at] = t.data[i]!;
    for (let k = idx.length - 1; k >= 0; k--) {
      if (++idx[k]! < t.shape[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}

const startOf = (init: StatesOf<Value> | undefined): Map<string, Tensor> => new Map([...(init ?? [])].map(([k, v]) => [k, asOne(v)]));
const finalsOf = (s: Stepper): StatesOf<Value> => new Map([...s.states()].map(([k, t]) => [k, { kind: "one", t }]));

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
