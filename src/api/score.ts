// Scoring a model's output on examples: classification (accuracy, top-k, F1, precision, recall, cross-entropy,
// perplexity, a confusion matrix), values (RMSE, MAE, MSE) or generated token sequences (edit-distance error rate, exact).
import { ctcDecode, editDistance, type CtcDecoding } from "../runtime/ctc.js";
export type { CtcDecoding };
import { maxOf } from "../diagnostics/extremes.js";
import { BatchedModelRunner, batchedUnsupported } from "../fused/run-model.js";
import { reachable } from "../ir/graph.js";
import { RnncError, UsageError } from "../diagnostics/errors.js";
import { Op } from "../ir/ops.js";
import type { ModelIR } from "../ir/ir.js";
import { concreteShape, type DimEnv } from "../runtime/dims.js";
import type { Tensor } from "../runtime/tensor.js";
import { batchOf, type Example } from "./data.js";

/** What an output is compared with its targets as. */
export type Task = "classes" | "values" | "tokens";
export const metricsOf: Record<Task, readonly string[]> = {
  classes: ["accuracy", "top5", "f1", "crossentropy", "perplexity"],
  values: ["rmse", "mae", "mse"],
  tokens: ["error-rate", "exact"],
};

/** The pieces each metric is computed from: one per example, or per valid step of a sequence output. */
type Item =
  | { readonly kind: "classes"; readonly scores?: Float32Array; readonly predicted: number; readonly target: number }
  | { readonly kind: "values"; readonly predicted: ArrayLike<number>; readonly target: readonly number[] }
  | { readonly kind: "tokens"; readonly predicted: readonly number[]; readonly target: readonly number[] };

const flat = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flat) : [Number(x)]);
const argmax = (v: ArrayLike<number>): number => { let b = 0; for (let i = 1; i < v.length; i++) if (v[i]! > v[b]!) b = i; return b; };

/** Counts of (target, predicted) pairs, rows the targets: `confusion[t][p]`, over the classes that occur. */
export function confusion(items: readonly { predicted: number; target: number }[]): { classes: number[]; counts: number[][] } {
  const classes = [...new Set(items.flatMap((c) => [c.target, c.predicted]))].sort((a, b) => a - b);
  const at = new Map(classes.map((c, k) => [c, k]));
  const counts = classes.map(() => classes.map(() => 0));
  for (const c of items) counts[at.get(c.target)!]![at.get(c.predicted)!]!++;
  return { classes, counts };
}

/** Macro precision, recall or F1: each class's own, averaged over the classes the targets hold (scikit-learn's average="macro" over those labels). */
function macro(name: "precision" | "recall" | "f1", cs: readonly { predicted: number; target: number }[]): number {
  const { classes, counts } = confusion(cs);
  const present = classes.filter((c) => cs.some((x) => x.target === c));
  const per = present.map((c) => {
    const k = classes.indexOf(c);
    const tp = counts[k]![k]!, predicted = counts.reduce((a, row) => a + row[k]!, 0), actual = counts[k]!.reduce((a, x) => a + x, 0);
    const precision = predicted ? tp / predicted : 0, recall = actual ? tp / actual : 0;
    return name === "precision" ? precision : name === "recall" ? recall : precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  });
  return per.reduce((a, x) => a + x, 0) / per.length;
}

/** One metric over items (undefined where it does not apply, e.g. top-5 of a baseline that gives no scores). */
export function metric(name: string, items: readonly Item[], probabilities: boolean): number | undefined {
  if (!items.length) return undefined;
  const mean = <T>(xs: readonly T[], f: (x: T) => number) => xs.reduce((a, x) => a + f(x), 0) / xs.length;
  const k = /^top(\d+)$/.exec(name);
  const first = items[0]!;
  if (first.kind === "classes") {
    const cs = items as readonly Extract<Item, { kind: "classes" }>[];
    if (name === "accuracy") return mean(cs, (c) => Number(c.predicted === c.target));
    if (name === "precision" || name === "recall" || name === "f1") return macro(name, cs);
    if (cs.some((c) => !c.scores)) return undefined; // a baseline's predictions have no scores
    if (k) return mean(cs, (c) => Number([...c.scores!].filter((s) => s > c.scores![c.target]!).length < Number(k[1])));
    if (name === "perplexity") return Math.exp(metric("crossentropy", items, probabilities)!);
    if (name !== "crossentropy") return undefined;
    return mean(cs, (c) => {
      const s = c.scores!;
      if (probabilities) return -Math.log(Math.max(s[c.target]!, 1e-12));
      const m = maxOf(s);
      return Math.log([...s].reduce((a, x) => a + Math.exp(x - m), 0)) + m - s[c.target]!;
    });
  }
  if (first.kind === "values") {
    const errs = (items as readonly Extract<Item, { kind: "values" }>[]).flatMap((v) => v.target.map((t, j) => Number(v.predicted[j]) - t));
    const mse = mean(errs, (e) => e * e);
    return name === "mse" ? mse : name === "rmse" ? Math.sqrt(mse) : name === "mae" ? mean(errs, Math.abs) : undefined;
  }
  const ts = items as readonly Extract<Item, { kind: "tokens" }>[];
  const edits = ts.map((t) => editDistance(t.predicted, t.target));
  if (name === "error-rate") return edits.reduce((a, e) => a + e, 0) / Math.max(1, ts.reduce((a, t) => a + t.target.length, 0));
  return name === "exact" ? mean(edits, (e) => Number(e === 0)) : undefined;
}

/** Whether an output's targets are class ids (integers, one per example or per step, scores over ≥ 2 classes). */
export function taskOf(ir: ModelIR, output: string, targets: readonly unknown[]): Task {
  const node = ir.nodes[ir.outputs.find((o) => o.name === output)!.node]!;
  if (node.dtype === "int") return "tokens";
  const classes = node.shape.length === 1 && targets.every((t) => flat(t).every((x) => Number.isInteger(x) && x >= 0) && (!Array.isArray(t) || t.every((x) => !Array.isArray(x))));
  return classes ? "classes" : "values";
}

/** The metric names valid for a task (topK for any K with class scores); a UsageError names the output's own. */
export function checkedMetrics(task: Task, output: string, names: readonly string[]): string[] {
  for (const m of names) if (!metricsOf[task].includes(m) && !(task === "classes" && (/^top\d+$/.test(m) || m === "precision" || m === "recall")))
    throw new UsageError(`--metrics ${m}: output '${output}' is compared as ${task}, whose metrics are ${metricsOf[task].join(", ")}${task === "classes" ? " (and precision, recall, topK for any K)" : ""}`);
  return [...names];
}

export interface ScoreOptions {
  readonly batchSize: number;
  /** The training split (for the majority class of a classifier). */
  readonly train?: readonly Example[];
  readonly baseline?: (e: Example) => unknown;
  readonly progress?: (batchesDone: number) => void;
  /** What computes the output: the fused kernels, or TensorFlow.js on the backend already in use (the default). */
  readonly engine?: "fused" | "tfjs";
  /** The output is CTC's per-step class scores: decoded (greedy, or prefix beam search with `beam` > 1) and compared as tokens with each target's labels. */
  readonly ctc?: CtcDecoding;
}


/** Why the fused kernels cannot compute this output of the model, or undefined when they can. */
export function fusedCannotScore(ir: ModelIR, output: string): string | undefined {
  const node = ir.outputs.find((o) => o.name === output)!.node;
  return batchedUnsupported(ir, reachable(ir.nodes, [node]));
}

/** Metrics of one output over examples (the model on tfjs, in batches), and those of the baselines. */
export async function score(ir: ModelIR, env: DimEnv, params: ReadonlyMap<string, Tensor>, examples: readonly Example[], output: string, names: readonly string[], o: ScoreOptions) {
  const node = ir.nodes[ir.outputs.find((x) => x.name === output)!.node]!;
  const task = o.ctc ? "tokens" : taskOf(ir, output, examples.map((e) => e.target));
  // A generated sequence ends at its end token, which the reference leaves out too.
  const end = node.op === Op.Generate && node.attrs.until !== undefined && node.attrs.until >= 0 ? node.attrs.until : undefined;
  const reference = (t: unknown) => flat(t).filter((x) => x !== end);
  /** Elements of the output per example, or per step of a sequence. */
  const inner = concreteShape(node.shape, env, `output ${output}`).reduce((x, y) => x * y, 1);
  const { outputIsProbability } = await import("../runtime/training.js");
  const fused = o.engine === "fused" ? new BatchedModelRunner(ir, env, params) : undefined;
  const tfjs = fused ? undefined : (await import("../tfjs/run.js")).runModelTf;
  const model: Item[] = [], baseline: Item[] = [];
  for (let k = 0; k < examples.length; k += o.batchSize) {
    const chunk = examples.slice(k, k + o.batchSize);
    const batch = batchOf(ir, chunk);
    const input = { inputs: batch.inputs, ...(batch.lengths ? { lengths: batch.lengths } : {}) };
    const out = (fused ? fused.run(input, [output]) : tfjs!(ir, env, params, input))[output]!;
    const t = out.tensor!;
    const per = t.data.length / chunk.length;
    chunk.forEach((e, b) => {
      const row = Float32Array.from(t.data.subarray(b * per, (b + 1) * per));
      if (o.ctc) {
        model.push({ kind: "tokens", predicted: ctcDecode(row, out.lengths?.[b] ?? per / inner, inner, outputIsProbability(ir, node.id), o.ctc), target: flat(e.target) });
        return;
      }
      for (const item of itemsOf(task, row, out.lengths?.[b], e.target, inner, reference)) model.push(item);
      if (o.baseline) for (const item of itemsOf(task, undefined, out.lengths?.[b], e.target, inner, reference, o.baseline(e))) baseline.push(item);
    });
    o.progress?.(Math.ceil(Math.min(examples.length, k + o.batchSize) / o.batchSize));
  }
  const probabilities = outputIsProbability(ir, node.id);
  const results: Record<string, number | undefined> = Object.fromEntries(names.map((m) => [m, metric(m, model, probabilities)]));
  const baselines: Record<string, Record<string, number | undefined>> = {};
  if (baseline.length) baselines["data module's baseline"] = Object.fromEntries(names.map((m) => [m, metric(m, baseline, probabilities)]));
  if (task === "classes" && o.train?.length) {
    // The majority class of the training split, predicted for everything.
    const counts = new Map<number, number>();
    for (const e of o.train) for (const c of flat(e.target)) counts.set(c, (counts.get(c) ?? 0) + 1);
    const major = [...counts].sort((x, y) => y[1] - x[1] || x[0] - y[0])[0]![0];
    baselines[`majority class (${major})`] = { accuracy: metric("accuracy", model.map((i) => ({ kind: "classes" as const, predicted: major, target: (i as Extract<Item, { kind: "classes" }>).target })), false) };
  }
  // Which class each example's target was against what the model predicted (over at most 20 classes, to print).
  const matrix = task === "classes" ? confusion(model as readonly Extract<Item, { kind: "classes" }>[]) : undefined;
  return { task, results, baselines, ...(matrix && matrix.classes.length <= 20 ? { confusion: matrix } : {}) };
}

/**
 * The items of one example: its output row (or, for a baseline, its prediction in the target's own form) against its
 * target, over the valid steps of a sequence.
 */
function itemsOf(task: Task, row: Float32Array | undefined, length: number | undefined, target: unknown, inner: number, reference: (t: unknown) => number[], predicted?: unknown): Item[] {
  if (task === "tokens") {
    const got = row ? Array.from(row.subarray(0, length ?? row.length)) : flat(predicted);
    return [{ kind: "tokens", predicted: reference(got), target: reference(target) }];
  }
  const steps = Array.isArray(target) && (task === "classes" || Array.isArray(target[0])) ? target.length : undefined;
  const n = steps === undefined ? 1 : Math.min(steps, length ?? steps);
  const out: Item[] = [];
  for (let s = 0; s < n; s++) {
    const want = steps === undefined ? target : (target as unknown[])[s];
    const guess = predicted === undefined ? undefined : steps === undefined ? predicted : (predicted as unknown[])[s];
    if (task === "classes") {
      const scores = row?.subarray(s * inner, (s + 1) * inner);
      if (!(Number(want) < inner)) throw new RnncError("RNN0605", `a target class ${String(want)} is past the output's ${inner} classes (0 … ${inner - 1})`);
      out.push({ kind: "classes", ...(scores ? { scores } : {}), predicted: scores ? argmax(scores) : Number(guess), target: Number(want) });
    } else {
      const values = flat(want), got = row ? row.subarray(s * inner, (s + 1) * inner) : flat(guess);
      if (values.length !== inner || got.length !== inner || values.some((v) => !Number.isFinite(v)))
        throw new RnncError("RNN0605", `a target (or baseline prediction) of ${values.length === inner ? got.length : values.length} numbers does not fit the output's ${inner} per ${steps === undefined ? "example" : "step"}${values.some((v) => !Number.isFinite(v)) ? ", or is not finite" : ""}`);
      out.push({ kind: "values", predicted: got, target: values });
    }
  }
  if (!out.length) throw new RnncError("RNN0605", "an example has no step to evaluate (a length of 0)");
  return out;
}

