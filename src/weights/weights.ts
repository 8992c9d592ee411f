// The weights file format (JSON, keyed by the spec's param names): reading, validating, writing, initializing.
import { RnncError } from "../diagnostics/errors.js";
import type { CellIR, InitSpec, ModelIR } from "../ir/ir.js";
import { concreteShape, layerEnv, type DimEnv } from "../runtime/dims.js";
import { initialize } from "../runtime/initializers.js";
import { alloc, sizeOf, type Precision, type Tensor } from "../runtime/tensor.js";
import type { OptimizerState } from "../runtime/training.js";
import { checkFinite, nonfinite, type ReadOptions } from "./bounds.js";
import { describe } from "../diagnostics/describe.js";

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
  /** Per epoch: train and held-out loss, the metric, and (with a schedule) the learning rate at its end. */
  /** `test`: the held-out series scored every epoch, on the split `heldOut` names (validation; test in older checkpoints). */
  /** `seconds`: each epoch's wall time (absent in checkpoints of rnnc before it was kept). */
  history: { train: number[]; test: number[]; metric: number[]; metricName: string; heldOut?: "validation" | "test"; lr?: number[]; seconds?: number[]; metrics?: Record<string, number[]> };
  /** The optimizer's own state (Adam's moments, momentum, …), so that --resume continues exactly. */
  optimizer?: OptimizerState;
}

export type { OptimizerState } from "../runtime/training.js";

/** The training state stored in a checkpoint, if any, checked field by field (RNN0604 names the field at fault). */
export function trainingStateOf(text: string, source: string): TrainingState | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad(source, `its JSON does not parse (${(e as Error).message})`);
  }
  const t = (json as { training?: unknown } | null)?.training;
  if (t === undefined) return undefined;
  const field = (path: string, why: string) => bad(source, `"training.${path}" ${why}`, "a checkpoint is written by rnnc train; start afresh with --force if it was edited by hand");
  if (!isRecord(t)) throw bad(source, '"training" is not an object');
  const epoch = t["epoch"];
  if (!Number.isInteger(epoch) || (epoch as number) < 0) throw field("epoch", `is ${JSON.stringify(epoch)}, not a whole number ≥ 0`);
  const h = t["history"];
  if (!isRecord(h)) throw field("history", "is not an object");
  const series = (k: "train" | "test" | "metric" | "lr" | "seconds"): number[] => {
    const v = h[k];
    if (!Array.isArray(v) || !v.every((x) => typeof x === "number" && Number.isFinite(x))) throw field(`history.${k}`, "is not a list of finite numbers");
    if (v.length !== epoch) throw field(`history.${k}`, `has ${v.length} entries for ${String(epoch)} epochs`);
    return v as number[];
  };
  const extra = h["metrics"];
  if (extra !== undefined && !isRecord(extra)) throw field("history.metrics", "is not an object");
  const metrics = extra === undefined ? undefined : Object.fromEntries(Object.keys(extra).map((k) => {
    const v = extra[k];
    if (!Array.isArray(v) || !v.every((x) => typeof x === "number" && Number.isFinite(x)) || v.length !== epoch) throw field(`history.metrics.${k}`, `is not a list of ${String(epoch)} finite numbers`);
    return [k, v as number[]];
  }));
  if (h["heldOut"] !== undefined && h["heldOut"] !== "validation" && h["heldOut"] !== "test") throw field("history.heldOut", "is neither \"validation\" nor \"test\"");
  const history = { train: series("train"), test: series("test"), metric: series("metric"), metricName: h["metricName"], ...(h["heldOut"] !== undefined ? { heldOut: h["heldOut"] } : {}), ...(h["lr"] !== undefined ? { lr: series("lr") } : {}), ...(h["seconds"] !== undefined ? { seconds: series("seconds") } : {}), ...(metrics ? { metrics } : {}) };
  if (typeof history.metricName !== "string") throw field("history.metricName", "is not a string");
  const state: TrainingState = { epoch: epoch as number, history: history as TrainingState["history"] };
  const o = t["optimizer"];
  if (o === undefined) return state;
  if (!isRecord(o) || typeof o["name"] !== "string" || !Array.isArray(o["weights"])) throw field("optimizer", 'is not an object with a "name" and a list of "weights"');
  (o["weights"] as unknown[]).forEach((w, k) => {
    const where = `optimizer.weights[${k}]`;
    if (!isRecord(w) || typeof w["name"] !== "string") throw field(where, 'is not an object with a "name"');
    const shape = w["shape"], data = w["data"];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw field(`${where}.shape`, "is not a list of whole numbers");
    if (!Array.isArray(data) || !data.every((x) => typeof x === "number" && Number.isFinite(x))) throw field(`${where}.data`, "is not a list of finite numbers");
    if (data.length !== sizeOf(shape as number[])) throw field(`${where}.data`, `has ${data.length} values for shape [${shape.join(", ")}]`);
  });
  return { ...state, optimizer: o as unknown as OptimizerState };
}

/** How a weights file written with --allow-nonfinite holds the values JSON has no numbers for. */
const NONFINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

const bad = (source: string, why: string, help?: string): RnncError =>
  new RnncError("RNN0604", `${source} is not a valid weights file: ${why}`, [
    'a weights file is JSON: {"format": "rnnc-weights", "version": 1, "params": {"NAME": {"shape": [...], "data": [...]}}}',
  ], help);

/** Parses a weights file; structural problems are RnncErrors naming the file and the param. */
export function parseWeights(text: string, source: string, precision: Precision = "f32", opts: ReadOptions = {}): Map<string, Tensor> {
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
      if (typeof v === "number" && Number.isFinite(v)) t.data[i] = v;
      else if (typeof v === "string" && Object.hasOwn(NONFINITE, v)) {
        if (!opts.allowNonfinite) throw nonfinite(`param "${name}"`, source, NONFINITE[v]!, i);
        t.data[i] = NONFINITE[v]!;
      } else throw bad(source, `param "${name}" has a value that is not a number at index ${i}: ${describe(v)}`);
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

/**
 * A weights file's text. JSON has no NaN or ±Infinity (JSON.stringify would write them as null, read back as a
 * malformed file far from the cause): a non-finite weight is refused (RNN0608), or with `allowNonfinite` written as
 * the string "NaN", "Infinity" or "-Infinity", which parseWeights reads back only when allowed too.
 */
/** Stands for −0 in serializeWeights' JSON until it is written as `-0` (no name or string of a weights file holds a NUL). */
const NEGATIVE_ZERO = "\u0000-0";

export function serializeWeights(owner: string, env: DimEnv, specs: readonly ParamSpec[], params: ReadonlyMap<string, Tensor>, training?: TrainingState, opts: ReadOptions = {}): string {
  // The format first, so that a reader of the first bytes tells the file's kind (rnnc replaces only its own files).
  const json: WeightsJson = {
    format: WEIGHTS_FORMAT, version: WEIGHTS_VERSION,
    ...(training ? { training } : {}),
    cell: owner, dims: Object.fromEntries(env),
    params: Object.fromEntries(specs.map((p) => {
      const t = params.get(p.name)!;
      checkFinite(t.data, `param "${p.name}"`, "the weights to be written", opts);
      return [p.name, { shape: [...t.shape], data: Array.from(t.data, (v) => (Object.is(v, -0) ? NEGATIVE_ZERO as unknown as number : Number.isFinite(v) ? v : String(v) as unknown as number)) }];
    })),
  };
  // −0 is written as the number -0 (JSON.stringify writes 0), so that weights round-trip to the bit.
  return JSON.stringify(json).replaceAll(JSON.stringify(NEGATIVE_ZERO), "-0") + "\n";
}
