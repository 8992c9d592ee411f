// Models and weights for programs: a model loaded from a .rnn file or text, its weights initialized, read, written and
// run, its summary, and the model compiled to a JS or tfjs module or an ONNX file.
import { createCompiler } from "../compiler.js";
import { UsageError } from "../diagnostics/errors.js";
import type { ModelIR } from "../ir/ir.js";
import { nodeHost, stdlibFiles, writeFileAtomic } from "../node/host.js";
import { memoryHost } from "../resolve/host.js";
import { resolveDims, type DimEnv } from "../runtime/dims.js";
import { tensorFromJson } from "../runtime/json-tensor.js";
import { toNested, type Tensor } from "../runtime/tensor.js";
import { runModel } from "../interp/run-model.js";
import { BatchedModelRunner, batchedUnsupported } from "../fused/run-model.js";
import { checkWeights, initParams, modelParamSpecs, parseWeights, serializeWeights, type ParamSpec, type TrainingState } from "../weights/weights.js";
import { readData } from "./files.js";
import { summarize, summaryText, type Summary } from "./summary.js";
import { version } from "./version.js";

/** A model with its dimensions settled: what every function here takes. */
export interface Model {
  readonly name: string;
  readonly ir: ModelIR;
  readonly env: DimEnv;
  /** Its params, `layer.param` with their shapes. */
  readonly params: readonly ParamSpec[];
}

/** Weights by param name (`layer.param`). */
export type Weights = Map<string, Tensor>;

export interface LoadOptions {
  /** Which model of the file (its only one by default). */
  readonly model?: string;
  /** Values of the model's dimensions (those with a default may be left out). */
  readonly dims?: Readonly<Record<string, number>>;
}

const settle = (ir: ModelIR, dims: Readonly<Record<string, number>> = {}): Model => {
  const env = resolveDims(ir, new Map(Object.entries(dims)));
  return { name: ir.name, ir, env, params: modelParamSpecs(ir, env) };
};

/** The model of a .rnn file (compile errors throw CompileErrors, whose diagnostics renderDiagnostics prints). */
export function loadModel(file: string, o: LoadOptions = {}): Model {
  return settle(createCompiler(nodeHost).model(file, o.model), o.dims);
}

/** The model of .rnn source text (it may import from "std"). */
export function modelFromSource(text: string, o: LoadOptions & { readonly path?: string } = {}): Model {
  const path = o.path ?? "model.rnn";
  const std = new Map(stdlibFiles().map((f) => [f, nodeHost.readFile(f)!]));
  return settle(createCompiler(memoryHost(new Map([[path, text], ...std]), [...std.keys()])).model(path, o.model), o.dims);
}

/** Fresh weights, each param drawn from its initializer (seeded: the same seed gives the same weights). */
export function initWeights(model: Model, seed = 0): Weights {
  return initParams(model.params, seed);
}

/** An rnnc weights file (rnnc init, train or import wrote it), checked against the model's params. */
export function readWeights(model: Model, path: string): Weights {
  const w = parseWeights(readData(path, "weights file"), path);
  checkWeights(`model \`${model.name}\``, model.params, w, path);
  return w;
}

/** Writes weights (and a training state, as a checkpoint) atomically: a reader sees the old file or the new one. */
export function writeWeights(model: Model, weights: ReadonlyMap<string, Tensor>, path: string, state?: TrainingState): void {
  checkWeights(`model \`${model.name}\``, model.params, weights, path);
  writeFileAtomic(path, serializeWeights(model.name, model.env, model.params, weights, state));
}

export interface RunOptions {
  /** Each sequence input's lengths per example (padding after them changes no state and is not output). */
  readonly lengths?: Readonly<Record<string, readonly number[]>>;
}

/** One output: its values (batch first) and, for a sequence, each example's length. */
export interface RunOutput { readonly values: unknown; readonly lengths?: readonly number[] }

/** Runs the model on a batch: each input as nested arrays, batch first. On the fused kernels where they take the model, else the interpreter. */
export function run(model: Model, weights: ReadonlyMap<string, Tensor>, inputs: Readonly<Record<string, unknown>>, o: RunOptions = {}): Record<string, RunOutput> {
  checkWeights(`model \`${model.name}\``, model.params, weights, "the weights given");
  const tensors = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tensorFromJson(v, `input "${k}"`, "f32")]));
  const input = { inputs: tensors, ...(o.lengths ? { lengths: Object.fromEntries(Object.entries(o.lengths).map(([k, v]) => [k, [...v]])) } : {}) };
  const r = batchedUnsupported(model.ir) ? runModel(model.ir, model.env, weights, input) : new BatchedModelRunner(model.ir, model.env, weights).run(input);
  return Object.fromEntries(Object.entries(r).map(([k, out]) => [k, {
    values: out.states ? Object.fromEntries(Object.entries(out.states).map(([n, t]) => [n, toNested(t)])) : toNested(out.tensor!),
    ...(out.lengths ? { lengths: out.lengths } : {}),
  }]));
}

/** The model's layers as Keras' model.summary() lists them: `.text` to print, the rest as data. */
export function summary(model: Model): Summary & { readonly text: string } {
  const s = summarize(model.ir, model.env);
  return { ...s, text: summaryText(s) };
}

export interface CompileOptions {
  /** `js` (a dependency-free module), `tfjs` (a trainable TensorFlow.js module) or `onnx`. */
  readonly target: "js" | "tfjs" | "onnx";
  /** Weights to build in (else the seeded initialization; the tfjs target then initializes when created). */
  readonly weights?: ReadonlyMap<string, Tensor>;
  readonly seed?: number;
  /** js: products in a WebAssembly SIMD kernel where the runtime has one (default true). */
  readonly simd?: boolean;
  /** onnx: one step per call, the states as inputs and outputs. */
  readonly streaming?: boolean;
  /** The source's name for the module's header. */
  readonly source?: string;
}

/** A compiled module (`js` and its `.d.ts`) or ONNX model (`onnx` bytes). */
export type Compiled = { readonly js: string; readonly dts: string } | { readonly onnx: Uint8Array; readonly inputs: readonly string[]; readonly outputs: readonly string[] };

/** The model as a module or an ONNX model, as `rnnc compile` writes it. */
export async function compile(model: Model, o: CompileOptions): Promise<Compiled> {
  if (!["js", "tfjs", "onnx"].includes(o.target)) throw new UsageError(`target ${String(o.target)}: rnnc compiles to js, tfjs or onnx`);
  if (o.streaming && o.target !== "onnx") throw new UsageError("streaming is for the onnx target (the js and tfjs modules stream with step() already)");
  if (o.weights) checkWeights(`model \`${model.name}\``, model.params, o.weights, "the weights given");
  const weights = o.weights ?? initParams(model.params, o.seed ?? 0);
  if (o.target === "onnx") {
    const m = o.streaming ? (await import("../emit/onnx/stream.js")).exportOnnxStreaming(model.ir, model.env, weights, version())
      : (await import("../emit/onnx/export.js")).exportOnnx(model.ir, model.env, weights, version());
    return { onnx: m.bytes, inputs: m.inputs, outputs: m.outputs };
  }
  const { compileModule } = await import("../emit/compile.js");
  const m = await compileModule({ ir: model.ir, env: model.env, target: o.target, weights, weightsGiven: o.weights !== undefined, source: o.source ?? `${model.name}.rnn`, version: version(), simd: o.simd ?? true });
  return { js: m.js, dts: m.dts };
}
