// The weights file format (JSON, keyed by the spec's param names): reading, validating, writing, initializing.
import { RnncError } from "../diagnostics/errors.js";
import type { CellIR, InitSpec, ModelIR } from "../ir/ir.js";
import { concreteShape, layerEnv, type DimEnv } from "../runtime/dims.js";
import { initialize } from "../runtime/initializers.js";
import { alloc, sizeOf, type Precision, type Tensor } from "../runtime/tensor.js";

export const WEIGHTS_FORMAT = "rnnc-weights";
export const WEIGHTS_VERSION = 1;

/**
 * {
 *   "format": "rnnc-weights", "version": 1,
 *   "cell": "LSTM", "dims": { "I": 4, "H": 8 },          // informative
 *   "params": { "W_xf": { "shape": [8, 4], "data": [ …32 numbers, row-major… ] }, … }
 * }
 */
export interface WeightsJson {
  format: typeof WEIGHTS_FORMAT;
  version: number;
  cell?: string;
  dims?: Record<string, number>;
  params: Record<string, { shape: number[]; data: number[] }>;
  /** Written by `rnnc train`: where training stopped, for `--resume`, and the loss history. */
  training?: TrainingState;
}

export interface TrainingState {
  epoch: number;
  history: { train: number[]; test: number[]; metric: number[]; metricName: string };
  /** The optimizer's own state (Adam's moments, momentum, …), so that --resume continues exactly. */
  optimizer?: OptimizerState;
}

export interface OptimizerState {
  name: string;
  /** In the optimizer's order; names are param names (or "iter"). */
  weights: { name: string; shape: number[]; data: number[] }[];
}

/** The training state stored in a weights file, if any. */
export function trainingStateOf(text: string): TrainingState | undefined {
  try {
    const t = (JSON.parse(text) as WeightsJson).training;
    return t && Number.isInteger(t.epoch) && Array.isArray(t.history?.train) ? t : undefined;
  } catch {
    return undefined;
  }
}

const bad = (source: string, why: string, help?: string): RnncError =>
  new RnncError("RNN0604", `${source} is not a valid weights file: ${why}`, [
    'a weights file is JSON: {"format": "rnnc-weights", "version": 1, "params": {"NAME": {"shape": [...], "data": [...]}}}',
  ], help);

/** Parses a weights file; structural problems are RnncErrors naming the file and the param. */
export function parseWeights(text: string, source: string, precision: Precision = "f32"): Map<string, Tensor> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad(source, `its JSON does not parse (${(e as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw bad(source, "the top level is not an object");
  const o = json as Record<string, unknown>;
  if (o["format"] !== WEIGHTS_FORMAT) throw bad(source, `"format" is ${JSON.stringify(o["format"])}, not "${WEIGHTS_FORMAT}"`);
  if (o["version"] !== WEIGHTS_VERSION) throw bad(source, `version ${JSON.stringify(o["version"])} is not supported (this rnnc reads version ${WEIGHTS_VERSION})`);
  const params = o["params"];
  if (typeof params !== "object" || params === null || Array.isArray(params)) throw bad(source, '"params" is missing or not an object');
  const out = new Map<string, Tensor>();
  for (const [name, entry] of Object.entries(params as Record<string, unknown>)) {
    const e = entry as { shape?: unknown; data?: unknown } | null;
    const shape = e?.shape;
    const data = e?.data;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(source, `param "${name}" has no valid "shape" (a list of whole numbers)`);
    if (!Array.isArray(data)) throw bad(source, `param "${name}" has no "data" list`);
    if (data.length !== sizeOf(shape)) throw bad(source, `param "${name}" has shape [${shape.join(", ")}] (${sizeOf(shape)} values) but ${data.length} values in "data"`);
    const t = alloc(shape, precision);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (typeof v !== "number" || !Number.isFinite(v)) throw bad(source, `param "${name}" has a non-finite or non-numeric value at index ${i}: ${JSON.stringify(v)}`);
      t.data[i] = v;
    }
    out.set(name, t);
  }
  return out;
}

/** A param with its concrete shape: a cell's own, or a model's `layer.param`. */
export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: InitSpec;
}

export function cellParamSpecs(ir: CellIR, env: DimEnv, prefix = ""): ParamSpec[] {
  return ir.params.map((p) => ({ name: prefix + p.name, shape: concreteShape(p.shape, env, `param ${p.name}`), init: p.init }));
}

/** Every layer's params, named `layer.param`, with the layer's dims evaluated under the model's. */
export function modelParamSpecs(ir: ModelIR, env: DimEnv): ParamSpec[] {
  return ir.layers.flatMap((l) => cellParamSpecs(l.ir, layerEnv(l, env), `${l.name}.`));
}

/** Checks that the weights hold exactly these params with their shapes; every problem is listed. */
export function checkWeights(owner: string, specs: readonly ParamSpec[], weights: ReadonlyMap<string, Tensor>, source: string): void {
  const problems: string[] = [];
  const show = (s: readonly number[]) => `[${s.join(", ")}]`;
  for (const p of specs) {
    const t = weights.get(p.name);
    if (!t) problems.push(`param \`${p.name}\` is missing (expected shape ${show(p.shape)})`);
    else if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i]))
      problems.push(`param \`${p.name}\` has shape ${show(t.shape)}, expected ${show(p.shape)}`);
  }
  for (const name of weights.keys())
    if (!specs.some((p) => p.name === name)) problems.push(`\`${name}\` is not a param of ${owner}`);
  if (problems.length) {
    throw new RnncError(problems[0]!.includes("missing") ? "RNN0601" : problems[0]!.includes("not a param") ? "RNN0602" : "RNN0603",
      `${source} does not fit ${owner}: ${problems[0]}`, problems.slice(1),
      `the params are ${specs.map((p) => `${p.name} ${show(p.shape)}`).join(", ")}`);
  }
}

/** Fresh params from each param's initializer, deterministic in `seed`. */
export function initParams(specs: readonly ParamSpec[], seed: number, precision: Precision = "f32"): Map<string, Tensor> {
  return new Map(specs.map((p) => [p.name, initialize(p.init, p.shape, seed, p.name, precision)]));
}

export function serializeWeights(owner: string, env: DimEnv, specs: readonly ParamSpec[], params: ReadonlyMap<string, Tensor>, training?: TrainingState): string {
  const json: WeightsJson = {
    ...(training ? { training } : {}),
    format: WEIGHTS_FORMAT, version: WEIGHTS_VERSION, cell: owner, dims: Object.fromEntries(env),
    params: Object.fromEntries(specs.map((p) => {
      const t = params.get(p.name)!;
      return [p.name, { shape: [...t.shape], data: Array.from(t.data) }];
    })),
  };
  return JSON.stringify(json) + "\n";
}
