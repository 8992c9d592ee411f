// A trained model's metrics on examples, as `rnnc eval` computes them (on the fused kernels where they can compute the
// output, else on TensorFlow.js).
import { UsageError } from "../diagnostics/errors.js";
import type { Tensor } from "../runtime/tensor.js";
import { chooseTfBackend } from "./backend-choice.js";
import { checkExamples } from "./data-check.js";
import type { Example } from "./data.js";
import type { Model } from "./model.js";
import { checkedMetrics, fusedCannotScore, metricsOf, score, taskOf } from "./score.js";

export interface EvaluateOptions {
  readonly output: string;
  /** Which metrics (by default all of the output's kind: accuracy, top5, f1, crossentropy, perplexity; rmse, mae, mse; error-rate, exact). */
  readonly metrics?: readonly string[];
  readonly batchSize?: number;
  /** The training split, for the majority-class baseline of a classifier. */
  readonly train?: readonly Example[];
}

/** Scores `output` on `examples`: the task it is compared as, each metric, baselines, and a confusion matrix for up to 20 classes. */
export async function evaluate(model: Model, weights: ReadonlyMap<string, Tensor>, examples: readonly Example[], o: EvaluateOptions) {
  const { ir, env } = model;
  if (!ir.outputs.some((x) => x.name === o.output)) throw new UsageError(`model ${ir.name} has no output '${o.output}' (its outputs: ${ir.outputs.map((x) => x.name).join(", ")})`);
  checkExamples(ir, env, o.output, undefined, [{ name: "the examples", examples }]);
  const task = taskOf(ir, o.output, examples.map((e) => e.target));
  const names = checkedMetrics(task, o.output, o.metrics ?? metricsOf[task]);
  const engine = fusedCannotScore(ir, o.output) ? "tfjs" : "fused";
  if (engine === "tfjs") await (await import("../tfjs/backend.js")).useBackend(chooseTfBackend("auto").backend);
  return score(ir, env, weights, examples, o.output, names, { batchSize: o.batchSize ?? 32, engine, ...(o.train ? { train: o.train } : {}) });
}
