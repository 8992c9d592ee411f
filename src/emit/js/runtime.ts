// The runtime of `rnnc compile --target js` modules: the interpreter's model orchestration driving compiled cells, inputs, weights and streaming.
import { RnncError } from "../../diagnostics/errors.js";
import type { LayerInfo, ModelIR } from "../../ir/ir.js";
import { modelFromJson } from "../../ir/serialize.js";
import { streamability } from "../../ir/streaming.js";
import { concreteShape, type DimEnv } from "../../runtime/dims.js";
import { tensorFromJson } from "../../runtime/json-tensor.js";
import { ModelRunner } from "../../interp/run-model.js";
import { CellStepper } from "../../interp/stepper.js";
import type { ModelOutput, ModelRunInput, StepperFactory } from "../../runtime/run-types.js";
import { sizeOf, type Tensor } from "../../runtime/tensor.js";
import { checkWeights, modelParamSpecs, parseWeights, serializeWeights, type ParamSpec } from "../../weights/weights.js";

/** A compiled cell instance (see emitCell). */
export interface CompiledCell {
  step(...inputs: (Float32Array | number)[]): Float32Array;
  reset(init?: readonly (ArrayLike<number> | undefined)[]): void;
  state(k: number): Float32Array;
  readonly out: Float32Array;
}
export type CellFactory = (params: Record<string, Float32Array>) => CompiledCell;
type StreamProgram = { step(inputs: Record<string, unknown>): void; reset(): void; readonly outputs: readonly Float32Array[] };
type StreamFactory = (cell: (layer: string) => CompiledCell, check: (name: string, value: unknown, size: number) => unknown) => StreamProgram;

export interface JsModuleSpec {
  readonly ir: string;
  readonly dims: Readonly<Record<string, number>>;
  /** Per layer name, its compiled cell. */
  readonly cells: Readonly<Record<string, CellFactory>>;
  readonly stream?: StreamFactory;
  /** Per param (`layer.param`), its float32 values as base64 (little-endian). */
  readonly weights: Readonly<Record<string, string>>;
  /** A runner for whole batches (the fused kernels, runtime-fused.ts), or undefined for the model: left out of --no-simd modules. */
  readonly batched?: (ir: ModelIR, env: DimEnv, params: ReadonlyMap<string, Tensor>) => BatchRunner | undefined;
}

/** Runs a model over a whole batch at once, with the interpreter's results. */
export interface BatchRunner { run(input: ModelRunInput): Record<string, ModelOutput> }

export type InputValue = unknown;
export interface RunOptions { readonly lengths?: Readonly<Record<string, readonly number[]>>; readonly seed?: number }
export interface OutputTensor { readonly shape: number[]; readonly data: Float32Array }
type Output = OutputTensor | Record<string, OutputTensor>;

const own = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** A record with any keys, `__proto__` included (Object.fromEntries defines own properties). */
const record = <T>(entries: Iterable<readonly [string, T]>): Record<string, T> => Object.fromEntries(entries);

function decode(base64: string): Float32Array {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const clean = base64.replace(/=+$/, "");
  const bytes = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let at = 0;
  for (const ch of clean) {
    acc = (acc << 6) | alphabet.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[at++] = (acc >> bits) & 255;
    }
  }
  const view = new DataView(bytes.buffer);
  return Float32Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

/** Thrown by compiled cells for a token id outside an embedding table, with the interpreter's message. */
export function tokenRangeError(id: number, rows: number): Error {
  return new RnncError("RNN0605", `token id ${id} is out of range: the table has ${rows} rows (ids 0 to ${rows - 1})`, ["token ids are whole numbers counted from 0"]);
}

export class CompiledJsModel {
  readonly ir: ModelIR;
  readonly env: DimEnv;
  private readonly specs: ParamSpec[];
  private params = new Map<string, Tensor>();
  private cells = new Map<string, CompiledCell>();
  private stream: StreamProgram | undefined;
  private streamResult: Record<string, Float32Array> | undefined;
  /** Batches of two or more run through the spec's batch runner where there is one (null: none for this model). */
  private batched: BatchRunner | null | undefined;

  constructor(private readonly spec: JsModuleSpec, options: { weights?: string | object } = {}) {
    this.ir = modelFromJson(spec.ir);
    this.env = new Map(Object.entries(spec.dims));
    this.specs = modelParamSpecs(this.ir, this.env);
    if (options.weights !== undefined) this.loadWeights(options.weights);
    else this.setParams(new Map(this.specs.map((p) => [p.name, { shape: [...p.shape], data: decode(spec.weights[p.name]!) }])));
  }

  private setParams(params: Map<string, Tensor>): void {
    this.params = params;
    // A layer that reads a sequence whole (attention) has no generated cell: the interpreter's stepper runs it.
    this.cells = new Map(this.ir.layers.filter((l) => own(this.spec.cells, l.name)).map((l) => [l.name, this.instance(l)]));
    this.stream = undefined;
    this.streamResult = undefined;
    this.batched = undefined;
  }

  private instance(l: LayerInfo): CompiledCell {
    const prefix = `${l.name}.`;
    const own = record([...this.params].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t.data as Float32Array] as const));
    return this.spec.cells[l.name]!(own);
  }

  /** Every output by name ({shape, data}; final states as a record of them), and each sequence output's lengths. */
  run(inputs: Readonly<Record<string, InputValue>>, options: RunOptions = {}): { outputs: Record<string, Output>; lengths: Record<string, number[]> } {
    if (typeof inputs !== "object" || inputs === null) throw new RnncError("RNN0605", "inputs must be an object with one entry per input");
    const tensors = record(Object.keys(inputs).map((k) => [k, tensorOf(own(inputs, k) ? inputs[k] : undefined, k)] as const));
    const first = tensors[this.ir.inputs[0]?.name ?? ""];
    if (this.batched === undefined) this.batched = this.spec.batched?.(this.ir, this.env, this.params) ?? null;
    const runner = this.batched && first && first.shape[0]! >= 2 ? this.batched : new ModelRunner(this.ir, this.env, this.params, "f32", this.steppers());
    const out = runner.run({ inputs: tensors, ...(options.lengths ? { lengths: options.lengths } : {}), ...(options.seed !== undefined ? { seed: options.seed } : {}) });
    const lengths = record(Object.entries(out).filter(([, o]) => o.lengths).map(([k, o]) => [k, o.lengths!] as const));
    return { outputs: record(Object.entries(out).map(([k, o]) => [k, plain(o)] as const)), lengths };
  }

  /** Every output by name: sequences [batch, time, ...] (zero past each length), single values [batch, ...]. */
  predict(inputs: Readonly<Record<string, InputValue>>, options: RunOptions = {}): Record<string, Output> {
    return this.run(inputs, options).outputs;
  }

  /**
   * Compiled cells in the interpreter's stepper interface; one instance per layer serves every scan, one at a time. A
   * layer without one (it reads a sequence whole) steps on the interpreter's own stepper.
   */
  private steppers(): StepperFactory {
    return (layer, env, params, p, initial) => {
      const c = this.cells.get(layer.name);
      if (!c) return new CellStepper(layer.ir, env, params, p, initial);
      const ir = layer.ir;
      const outShape = concreteShape(ir.nodes[ir.outputs[0]!.node]!.shape, env, "output");
      const stateShapes = ir.states.map((s) => concreteShape(s.shape, env, `state ${s.name}`));
      c.reset(ir.states.map((s) => initial.get(s.name)?.data));
      return {
        step: (ins) => new Map([[ir.outputs[0]!.name, { shape: outShape, data: Float32Array.from(c.step(...ir.inputs.map((i) => (i.dtype === "int" ? ins.get(i.name)!.data[0]! : ins.get(i.name)!.data as Float32Array)))) }]]),
        states: () => new Map(ir.states.map((s, k) => [s.name, { shape: stateShapes[k]!, data: Float32Array.from(c.state(k)) }])),
      };
    };
  }

  /**
   * One time step of one sequence: each input's values at this step (an array of its per-step size, or a token id).
   * Returns each output at this step; the arrays are reused by the next step. Allocates nothing.
   */
  step(inputs: Readonly<Record<string, InputValue>>): Record<string, Float32Array> {
    if (!this.stream) {
      const s = streamability(this.ir);
      if (!s.ok || !this.spec.stream) throw new RnncError("RNN0605", `model \`${this.ir.name}\` cannot run a step at a time: ${s.ok ? "it was compiled without streaming" : s.why}`, ["use predict on whole sequences"]);
      const layers = new Map(this.ir.layers.map((l) => [l.name, l]));
      this.stream = this.spec.stream((name) => this.instance(layers.get(name)!), checkStepInput);
      this.streamResult = record(this.ir.outputs.map((o, k) => [o.name, this.stream!.outputs[k]!] as const));
    }
    if (typeof inputs !== "object" || inputs === null) throw new RnncError("RNN0605", "step takes an object with one entry per input");
    this.stream.step(inputs as Record<string, unknown>);
    return this.streamResult!;
  }

  /** Forgets the streaming states: the next `step` starts a new sequence. */
  reset(): void {
    this.stream?.reset();
  }

  /** The weights, keyed `layer.param`, as Float32Arrays (row-major). */
  get weights(): Record<string, Float32Array> {
    return record([...this.params].map(([k, t]) => [k, t.data as Float32Array] as const));
  }

  /** The current weights in the rnnc-weights format (a JSON string). */
  saveWeights(): string {
    return serializeWeights(this.ir.name, this.env, this.specs, this.params);
  }

  /** Replaces the weights (rnnc-weights format, JSON string or object); shapes must match. Resets streaming. */
  loadWeights(weights: string | object): void {
    const params = parseWeights(typeof weights === "string" ? weights : JSON.stringify(weights), "the weights");
    checkWeights(`model \`${this.ir.name}\``, this.specs, params, "the weights");
    this.setParams(params);
  }
}

function plain(o: ModelOutput): Output {
  if (o.states) return record(Object.entries(o.states).map(([k, t]) => [k, { shape: [...t.shape], data: t.data as Float32Array }] as const));
  return { shape: [...o.tensor!.shape], data: o.tensor!.data as Float32Array };
}

/** An input as nested arrays (batch first) or as {shape, data}. */
function tensorOf(v: unknown, name: string): Tensor {
  if (Array.isArray(v)) return tensorFromJson(v, `input \`${name}\``, "f32");
  if (typeof v === "object" && v !== null && "shape" in v && "data" in v) {
    const { shape, data } = v as { shape: unknown; data: unknown };
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new RnncError("RNN0605", `input \`${name}\` has no valid shape (a list of whole numbers)`);
    const values = data as ArrayLike<number>;
    if (typeof values !== "object" || values === null || typeof values.length !== "number") throw new RnncError("RNN0605", `input \`${name}\`: data must be an array or a typed array`);
    if (values.length !== sizeOf(shape)) throw new RnncError("RNN0605", `input \`${name}\` has shape [${shape.join(", ")}] (${sizeOf(shape)} values) but ${values.length} values in data`);
    const bad = firstNotFloat32(values);
    if (bad >= 0) throw new RnncError("RNN0605", `input \`${name}\` data[${bad}] is ${String(values[bad])}, not a finite float32 number`);
    // A Float32Array is used where it is (the runners read inputs and copy what they keep; nothing writes to them);
    // other typed arrays are converted in one piece (Float32Array.from iterates element by element).
    const floats = values instanceof Float32Array ? values : values instanceof Float64Array ? new Float32Array(values) : Float32Array.from(values);
    return { shape: [...shape] as number[], data: floats };
  }
  throw new RnncError("RNN0605", `input \`${name}\` must be nested arrays (batch first) or {shape, data}`);
}

const FLOAT32_MAX = 3.4028234663852886e38;

/** The index of the first value that is not a finite float32 number, or -1. */
function firstNotFloat32(a: ArrayLike<number>): number {
  if (a instanceof Float32Array) {
    // Every value is a float32 already: only NaN and ±Infinity are refused (x·0 is NaN for exactly those). Four sums of
    // x·0 without a branch (3× faster than a test per value) say whether to look for the first one.
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    const n = a.length - (a.length % 4);
    for (let i = 0; i < n; i += 4) {
      s0 += a[i]! * 0; s1 += a[i + 1]! * 0; s2 += a[i + 2]! * 0; s3 += a[i + 3]! * 0;
    }
    for (let i = n; i < a.length; i++) s0 += a[i]! * 0;
    if (s0 + s1 + s2 + s3 === 0) return -1;
    for (let i = 0; i < a.length; i++) if (a[i]! - a[i]! !== 0) return i;
    return -1;
  }
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (!(typeof x === "number" && x >= -FLOAT32_MAX && x <= FLOAT32_MAX)) return i;
  }
  return -1;
}

/** Checks one input of a streaming step: `size` values, or a token id when size is -1. */
function checkStepInput(name: string, value: unknown, size: number): unknown {
  if (size < 0) {
    if (typeof value !== "number" || !Number.isInteger(value)) throw new RnncError("RNN0605", `step input \`${name}\` must be a token id (a whole number), got ${describe(value)}`);
    return value;
  }
  const v = value as ArrayLike<number> | undefined;
  if (typeof v !== "object" || v === null || v.length !== size) throw new RnncError("RNN0605", `step input \`${name}\` has ${describe(value)}, expected [${size}] (${size} numbers for one time step)`);
  for (let i = 0; i < size; i++) {
    const x = v[i];
    // NaN fails every comparison, so this one test rejects it, ±Infinity, non-numbers and values float32 cannot hold.
    if (!(typeof x === "number" && x >= -FLOAT32_MAX && x <= FLOAT32_MAX))
      throw new RnncError("RNN0605", `step input \`${name}\`[${i}] is ${typeof x === "number" ? String(x) : describe(x)}, not a finite float32 number`);
  }
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (typeof v === "object" && v !== null && typeof (v as ArrayLike<number>).length === "number") return `shape [${(v as ArrayLike<number>).length}]`;
  return `a ${typeof v}`;
}

export function createCompiledModel(spec: JsModuleSpec, options?: { weights?: string | object }): CompiledJsModel {
  return new CompiledJsModel(spec, options);
}
