// A trained model's metrics on examples, as `rnnc eval` computes them (the CLI is a thin layer over evaluate()): on the
// fused kernels where they can compute the output, else on TensorFlow.js.
import { MAX_BEAM } from "../diagnostics/limits.js";
import { UsageError } from "../diagnostics/errors.js";
import { evalDim } from "../ir/dims.js";
import type { ModelIR } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { beamRefusal } from "../ir/beam-rules.js";
import type { DimEnv } from "../runtime/dims.js";
import type { Tensor } from "../runtime/tensor.js";
import { checkWeights, modelParamSpecs } from "../weights/weights.js";
import { chooseEvalBackend, productsExplained, type TrainBackendName } from "./backend-choice.js";
import { assertOutput, checkedCtc, checkExamples } from "./data-check.js";
import { assertExamples, type Example } from "./data.js";
import { checkedMetrics, fusedCannotScore, metricsOf, score, taskOf, type CtcDecoding } from "./score.js";

export interface EvaluateOptions {
  readonly output: string;
  /** Which metrics (by default all of the output's kind: accuracy, top5 where there are more than 5 classes, f1, crossentropy, perplexity; rmse, mae, mse; error-rate, exact). */
  readonly metrics?: readonly string[];
  readonly batchSize?: number;
  /** The training split, for the majority-class baseline of a classifier. */
  readonly train?: readonly Example[];
  /** A prediction to score beside the model's (a data module's `baseline(example)`). */
  readonly baseline?: (e: Example) => unknown;
  /** `auto` (the default): the fused kernels where they compute the output, else TensorFlow.js. */
  readonly backend?: TrainBackendName | "auto";
  /** How the examples are named in messages (the CLI: "the held-out split"). */
  readonly what?: string;
  readonly progress?: (batchesDone: number, batches: number) => void;
  readonly explain?: (text: string) => void;
  /** How an option is named in messages (the CLI: `--metrics`). */
  readonly label?: (option: string) => string;
  /** The output is CTC's per-step class scores (a model trained with loss ctc): decode it, greedily or by prefix beam search, and compare the labels as tokens. */
  readonly ctc?: CtcDecoding;
  /** A generated output (`generate` of tokens) decoded by beam search over this many hypotheses instead of the spec's own `beam` (1: greedy). */
  readonly beam?: number;
}

/** Scores `output` on `examples`: the task it is compared as, each metric, baselines, and a confusion matrix for up to 20 classes. */
export async function evaluate(model: { readonly ir: ModelIR; readonly env: DimEnv }, weights: ReadonlyMap<string, Tensor>, examples: readonly Example[], o: EvaluateOptions) {
  const { env } = model;
  const label = o.label ?? ((k: string) => k);
  const ir = o.beam === undefined ? model.ir : searching(model.ir, o.output, o.beam, label);
  const batchSize = o.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError(`${label("batchSize")} must be a whole number ≥ 1, not ${batchSize}`);
  assertOutput(ir, o.output);
  // The inputs checked against the model first (the targets are checked against the output's kind as they are scored).
  checkWeights(`model \`${ir.name}\``, modelParamSpecs(ir, env), weights, "the weights given");
  assertExamples(examples, o.what ?? "the examples");
  checkExamples(ir, env, o.output, undefined, [{ name: o.what ?? "the examples", examples }]);
  if (o.ctc) {
    const kind = checkedCtc(ir, env, o.output, label("ctc"), o.ctc, label);
    checkExamples(ir, env, o.output, kind, [{ name: o.what ?? "the examples", examples }]);
  }
  const task = o.ctc ? "tokens" : taskOf(ir, o.output, examples.map((e) => e.target));
  let names = checkedMetrics(task, o.output, o.metrics ?? metricsOf[task]);
  // Top-k says something only when there are more than k classes (with 2 classes, top-5 is always right).
  const node = ir.nodes[ir.outputs.find((x) => x.name === o.output)!.node]!;
  const classes = task === "classes" ? evalDim(node.shape[node.shape.length - 1]!, env) : undefined;
  if (classes !== undefined) {
    const tooFew = names.filter((m) => /^top\d+$/.test(m) && Number(m.slice(3)) >= classes);
    if (o.metrics && tooFew.length) throw new UsageError(`${label("metrics")} ${tooFew[0]}: output '${o.output}' has ${classes} classes, so every example is in its top ${tooFew[0]!.slice(3)}; ask for top-k with k below ${classes}`);
    names = names.filter((m) => !tooFew.includes(m));
  }
  const choice = chooseEvalBackend(o.backend ?? "auto", () => fusedCannotScore(ir, o.output));
  o.explain?.(`backend: ${choice.backend} (${choice.why})\n${productsExplained()}\n`);
  if (choice.backend === "fused") {
    const why = fusedCannotScore(ir, o.output);
    if (why) throw new UsageError(`${label("backend")} fused cannot compute output '${o.output}' of model ${ir.name}: ${why}; ${label("backend")} tfjs-wasm can`);
  } else await (await import("../tfjs/backend.js")).useBackend(choice.backend);
  const batches = Math.ceil(examples.length / batchSize);
  const r = await score(ir, env, weights, examples, o.output, names, {
    batchSize, engine: choice.backend === "fused" ? "fused" : "tfjs", ...(o.train ? { train: o.train } : {}), ...(o.baseline ? { baseline: o.baseline } : {}),
    ...(o.progress ? { progress: (done: number) => o.progress!(done, batches) } : {}), ...(o.ctc ? { ctc: o.ctc } : {}),
  });
  return { ...r, metricNames: names };
}

/** The model with its generated output `output` decoded by beam search over `beam` hypotheses (the IR is not changed: a copy). */
function searching(ir: ModelIR, output: string, beam: number, label: (option: string) => string): ModelIR {
  assertOutput(ir, output);
  if (!(Number.isInteger(beam) && beam >= 1 && beam <= MAX_BEAM)) throw new UsageError(`${label("beam")} must be a whole number from 1 to ${MAX_BEAM}, not ${beam}`);
  const node = ir.nodes[ir.outputs.find((x) => x.name === output)!.node]!;
  if (node.op !== Op.Generate || node.dtype !== "int") throw new UsageError(`${label("beam")} searches a generated output of token ids (or, with ${label("ctc")}, decodes a CTC output), and output '${output}' of model ${ir.name} is neither`);
  const layer = ir.layers.find((l) => l.name === node.attrs.layer)!;
  const refused = beam > 1 || (node.attrs.temperature ?? 0) > 0 ? beamRefusal(layer.ir, layer.name, node.attrs.temperature ?? 0) : undefined;
  if (refused) throw new UsageError(`${label("beam")} ${beam}, output '${output}': ${refused.why}; ${refused.help}`);
  const { beam: _old, ...attrs } = node.attrs;
  return { ...ir, nodes: ir.nodes.map((n) => (n.id === node.id ? { ...n, attrs: beam > 1 ? { ...attrs, beam } : attrs } : n)) };
}
