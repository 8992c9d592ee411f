// The runtime of `rnnc compile --target tfjs` modules: the model's IR run by rnnc's own tfjs lowering, with predict, streaming and weights I/O.
import { quietTf } from "./quiet.js";
import { setOwn } from "../runtime/record.js";
import * as tf from "@tensorflow/tfjs";
import { RnncError } from "../diagnostics/errors.js";
import type { ModelIR } from "../ir/ir.js";
import { modelFromJson } from "../ir/serialize.js";
import { streamability } from "../ir/streaming.js";
import type { DimEnv } from "../runtime/dims.js";
import { validateModelInputs } from "../runtime/validate-inputs.js";
import type { Tensor } from "../runtime/tensor.js";
import { checkWeights, initParams, modelParamSpecs, parseWeights, serializeWeights, type ParamSpec } from "../weights/weights.js";
import type { History } from "./cell.js";
import { loweringDefaults, TfModel, type LoweringOptions } from "./model.js";
import { collectOutputs, type TfOutput } from "./run.js";
import { installWasmSlice } from "./wasm-slice.js";

/** What a compiled module carries: its model as IR, the dims it was compiled for, and weights if they were given. */
export interface CompiledSpec {
  readonly ir: string;
  readonly dims: Readonly<Record<string, number>>;
  readonly weights?: string;
}

export interface CreateOptions {
  /** Weights in the rnnc-weights format: a JSON string or the parsed object. Default: the module's own, else seeded initialization. */
  readonly weights?: string | object;
  /** Seed of the initializers when no weights are given (default 0, as `rnnc run`). */
  readonly seed?: number;
  /** Whether the variables are trainable (default true). */
  readonly trainable?: boolean;
  /** Lowering choices; default: rnnc's per-backend defaults. */
  readonly lowering?: LoweringOptions;
}

export interface RunOptions {
  /** Per sequence input, each example's length; steps past it are padding. */
  readonly lengths?: Readonly<Record<string, readonly number[]>>;
  /** Seed of sampling in `generate`. */
  readonly seed?: number;
}

type Outputs = Record<string, tf.Tensor | Record<string, tf.Tensor>>;
/** An input: a tf.Tensor, nested arrays (batch first), or {shape, data}; anything else is refused with a message. */
export type InputValue = unknown;

const plain = (o: TfOutput): tf.Tensor | Record<string, tf.Tensor> => o.states ?? o.tensor!;

export class CompiledTfModel {
  readonly ir: ModelIR;
  readonly env: DimEnv;
  /** The trainable parameters, keyed `layer.param` as in the weights format. */
  readonly variables: Record<string, tf.Variable>;
  private readonly specs: ParamSpec[];
  private readonly model: TfModel;
  private carry: Map<number, History> | undefined;
  private carryBatch = 0;

  constructor(spec: CompiledSpec, options: CreateOptions = {}) {
    this.ir = modelFromJson(spec.ir);
    this.env = new Map(Object.entries(spec.dims));
    this.specs = modelParamSpecs(this.ir, this.env);
    const given = options.weights === undefined ? spec.weights : typeof options.weights === "string" ? options.weights : JSON.stringify(options.weights);
    // Weights compiled in were checked by rnnc compile (non-finite ones only with --allow-nonfinite).
    const params = given === undefined ? initParams(this.specs, options.seed ?? 0) : this.read(given, given === spec.weights);
    this.variables = Object.fromEntries([...params].map(([k, t]) => [k, tf.variable(tf.tensor(t.data, [...t.shape]), options.trainable ?? true, freshName(`${this.ir.name}/${k}`))]));
    if (tf.getBackend() === "wasm") installWasmSlice(); // the same results, without a whole copy of a tensor per slice
    const lowering = options.lowering ?? loweringDefaults(tf.getBackend() === "wasm" ? "tfjs-wasm" : "tfjs-cpu");
    this.model = new TfModel(this.ir, this.env, new Map(Object.entries(this.variables)), lowering);
  }

  private read(text: string, compiledIn = false): Map<string, Tensor> {
    const params = parseWeights(text, "the weights", "f32", { allowNonfinite: compiledIn });
    checkWeights(`model \`${this.ir.name}\``, this.specs, params, "the weights");
    return params;
  }

  /** Every output by name, with each sequence output's lengths. The caller owns (and disposes) the tensors. */
  run(given: Readonly<Record<string, InputValue>>, options: RunOptions = {}): { outputs: Outputs; lengths: Record<string, number[]> } {
    const { inputs, owned } = this.tensorsOf(given);
    try {
      return this.runTensors(inputs, options);
    } finally {
      tf.dispose(owned);
    }
  }

  /** Inputs as tensors: tensors as they are; nested arrays (batch first) and {shape, data} converted (and disposed after). */
  private tensorsOf(given: Readonly<Record<string, InputValue>>): { inputs: Record<string, tf.Tensor>; owned: tf.Tensor[] } {
    if (typeof given !== "object" || given === null) throw new RnncError("RNN0605", "inputs must be an object with one entry per input");
    const owned: tf.Tensor[] = [];
    const inputs: Record<string, tf.Tensor> = {};
    for (const [name, v] of Object.entries(given)) {
      if (v instanceof tf.Tensor) { setOwn(inputs, name, v); continue; }
      const dtype = this.ir.inputs.find((i) => i.name === name)?.dtype === "int" ? "int32" : "float32";
      const plainTensor = typeof v === "object" && v !== null && "shape" in v && "data" in v;
      if (!Array.isArray(v) && !plainTensor) throw new RnncError("RNN0605", `input \`${name}\` must be a tf.Tensor, nested arrays (batch first) or {shape, data}`);
      const t = plainTensor ? tf.tensor((v as { data: number[] }).data, (v as { shape: number[] }).shape, dtype) : tf.tensor(v as number[], undefined, dtype);
      owned.push(t);
      setOwn(inputs, name, t);
    }
    return { inputs, owned };
  }

  private runTensors(inputs: Readonly<Record<string, tf.Tensor>>, options: RunOptions): { outputs: Outputs; lengths: Record<string, number[]> } {
    const batch = validateModelInputs(this.ir, this.env, shapesOf(inputs), options.lengths);
    const lengths: Record<string, number[]> = {};
    const outputs = tf.tidy(() => {
      const cast = Object.fromEntries(this.ir.inputs.map((i) => [i.name, as(inputs[i.name]!, i.dtype === "int" ? "int32" : "float32")]));
      const values = this.model.run({ inputs: cast, ...(options.lengths ? { lengths: options.lengths } : {}), ...(options.seed !== undefined ? { seed: options.seed } : {}) });
      const out: Record<string, tf.Tensor | Record<string, tf.Tensor>> = {};
      // Inputs are used as given (no cast to their own type): an output that is an input is handed back as a clone,
      // so that disposing the outputs never disposes the caller's tensors.
      const given = new Set<tf.Tensor>(Object.values(inputs));
      const own = (t: tf.Tensor) => (given.has(t) ? tf.clone(t) : t);
      for (const [name, o] of Object.entries(collectOutputs(this.ir, this.env, values, batch))) {
        if (o.lengths) setOwn(lengths, name, o.lengths);
        const v = plain(o);
        setOwn(out, name, v instanceof tf.Tensor ? own(v) : Object.fromEntries(Object.entries(v).map(([k, t]) => [k, own(t)])));
      }
      return out as Record<string, tf.Tensor>;
    });
    return { outputs, lengths };
  }

  /** Every output by name: sequences [batch, time, ...] (zero past each length), single values [batch, ...]. */
  predict(inputs: Readonly<Record<string, InputValue>>, options: RunOptions = {}): Outputs {
    return this.run(inputs, options).outputs;
  }

  /**
   * One time step of every input ([batch, ...] each); returns each output at this step. Scans keep their states
   * between calls until `reset()`; a `last(…)` output is the answer as if the sequences ended at this step.
   */
  step(given: Readonly<Record<string, InputValue>>): Record<string, tf.Tensor> {
    const s = streamability(this.ir);
    if (!s.ok) throw new RnncError("RNN0605", `model \`${this.ir.name}\` cannot run a step at a time: ${s.why}`, ["use predict on whole sequences"]);
    const { inputs, owned } = this.tensorsOf(given);
    try {
      return this.stepTensors(inputs);
    } finally {
      tf.dispose(owned);
    }
  }

  private stepTensors(inputs: Readonly<Record<string, tf.Tensor>>): Record<string, tf.Tensor> {
    const batch = validateModelInputs(this.ir, this.env, Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, { shape: [t.shape[0]!, 1, ...t.shape.slice(1)] }])));
    if (this.carry && batch !== this.carryBatch) throw new RnncError("RNN0605", `step got a batch of ${batch} after steps with a batch of ${this.carryBatch}`, ["call reset() to start new sequences"]);
    const old = this.carry;
    const out = tf.tidy(() => {
      const expanded = Object.fromEntries(this.ir.inputs.map((i) => [i.name, tf.expandDims(as(inputs[i.name]!, i.dtype === "int" ? "int32" : "float32"), 1)]));
      const values = this.model.run({ inputs: expanded, streaming: true, ...(old ? { carry: old } : {}) });
      this.carry = new Map([...this.model.histories].map(([id, h]) => [id, new Map([...h].map(([k, xs]) => [k, xs.map((x) => tf.keep(x))]))]));
      const result: Record<string, tf.Tensor> = {};
      for (const [name, o] of Object.entries(collectOutputs(this.ir, this.env, values, batch)))
        setOwn(result, name, o.lengths ? tf.squeeze(o.tensor!, [1]) : o.tensor!);
      return result;
    });
    this.carryBatch = batch;
    if (old) disposeUnused(old, this.carry!);
    return out;
  }

  /** Forgets the streaming states: the next `step` starts new sequences. */
  reset(): void {
    if (this.carry) disposeUnused(this.carry, new Map());
    this.carry = undefined;
  }

  /** The current weights in the rnnc-weights format (a JSON string). */
  saveWeights(): string {
    const params = new Map(Object.entries(this.variables).map(([k, v]) => [k, { shape: [...v.shape], data: Float32Array.from(v.dataSync()) }]));
    return serializeWeights(this.ir.name, this.env, this.specs, params);
  }

  /** Replaces the weights (rnnc-weights format, JSON string or object); shapes must match. */
  loadWeights(weights: string | object): void {
    const params = this.read(typeof weights === "string" ? weights : JSON.stringify(weights));
    for (const [k, t] of params) this.variables[k]!.assign(tf.tensor(t.data, [...t.shape]));
  }

  dispose(): void {
    this.reset();
    for (const v of Object.values(this.variables)) v.dispose();
  }
}

/** Shapes only: tfjs inputs are checked without reading their data back. */
function shapesOf(inputs: Readonly<Record<string, tf.Tensor>>): Record<string, { shape: number[] }> {
  return Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, { shape: t.shape }]));
}

function disposeUnused(old: Map<number, History>, now: Map<number, History>): void {
  const keep = new Set([...now.values()].flatMap((h) => [...h.values()].flat()));
  for (const h of old.values()) for (const xs of h.values()) for (const x of xs) if (!keep.has(x) && !x.isDisposed) x.dispose();
}

/** tfjs variable names are global: the first model gets the plain names, later ones a numeric suffix. */
function freshName(base: string): string {
  const taken = tf.engine().registeredVariables;
  if (!(base in taken)) return base;
  for (let i = 2; ; i++) if (!(`${base}_${i}` in taken)) return `${base}_${i}`;
}

export function createCompiledModel(spec: CompiledSpec, options?: CreateOptions): CompiledTfModel {
  quietTf();
  return new CompiledTfModel(spec, options);
}

/** A tensor as `dtype`: itself when it is one already (a cast to its own type copies it on the wasm backend). */
const as = (t: tf.Tensor, dtype: "int32" | "float32"): tf.Tensor => (t.dtype === dtype ? t : tf.cast(t, dtype));
