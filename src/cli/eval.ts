// `rnnc eval`: a trained model's metrics on a split of its data module: classification (accuracy, top-k, cross-entropy),
// values (RMSE, MAE, MSE) or generated token sequences (edit-distance error rate, exact), with baselines beside them.
import type { TrainBackendName } from "../api/backend-choice.js";
import { resolveDims } from "../runtime/dims.js";
import { checkWeights, modelParamSpecs, parseWeights } from "../weights/weights.js";
import { assertNotInput, compiler, dimsGiven, optsFlag, readData, readText, UsageError } from "./commands.js";
import { confusionSvg } from "../picture/charts.js";
import { writeFileAtomic } from "../node/host.js";
import { assertReplaceable } from "./output-guard.js";
import { evaluate } from "../api/evaluate.js";
import { Progress } from "./progress.js";
import { loadData } from "../api/data.js";

export interface EvalFlags {
  file: string; model?: string | undefined; dims?: string | undefined; data: string; dataOpt?: string | undefined; weights: string;
  output: string; split: "test" | "validation" | "train"; validationSplit?: number | undefined; metrics?: string | undefined; limit?: number | undefined; batchSize: number;
  backend: TrainBackendName | "auto"; json?: boolean; explain?: boolean; allowNonfinite?: boolean; svg?: string | undefined;
  ctc?: boolean; blank?: number | undefined; beam?: number | undefined;
}

export async function evalCommand(a: EvalFlags): Promise<number> {
  readText(a.file, "file");
  if (a.svg !== undefined) {
    if (!a.svg.endsWith(".svg")) throw new UsageError(`--svg ${a.svg}: the picture's name must end in .svg`);
    assertNotInput(a.svg, { spec: a.file, "weights file": a.weights, "data module": a.data });
    assertReplaceable(a.svg, "picture");
  }
  const ir = compiler.model(a.file, a.model);
  const env = resolveDims(ir, dimsGiven(a, ir.dims.map((d) => d.name)));
  const specs = modelParamSpecs(ir, env);
  const params = parseWeights(readData(a.weights, "weights file"), a.weights, "f32", { allowNonfinite: a.allowNonfinite === true });
  checkWeights(`model \`${ir.name}\``, specs, params, a.weights);
  if (a.limit !== undefined && !(Number.isInteger(a.limit) && a.limit >= 1)) throw new UsageError(`--limit must be a whole number ≥ 1, not ${a.limit}`);
  if (!a.ctc && a.blank !== undefined) throw new UsageError("--blank decodes a CTC output; give --ctc with it");
  const data = await loadData({ data: a.data, options: Object.fromEntries(optsFlag(a.dataOpt)), validationSplit: a.validationSplit, validationSplitName: "--validation-split" });
  const split = data[a.split];
  if (!split) throw new UsageError(`${a.data} gives no validation split: --validation-split F scores the last F of the training examples, as rnnc train --validation-split F held them out`);
  const examples = a.limit !== undefined ? split.slice(0, a.limit) : split;
  // The scoring is evaluate()'s (src/api/evaluate.ts); the CLI adds the progress bar and the report.
  let bar: Progress | undefined;
  const { task, results, baselines, confusion: matrix, metricNames: names } = await evaluate({ ir, env }, params, examples, {
    output: a.output, batchSize: a.batchSize, train: data.train, backend: a.backend, what: `the ${a.split === "train" ? "training" : a.split} split`,
    ...(a.metrics ? { metrics: a.metrics.split(",").map((m) => m.trim()) } : {}), ...(data.module.baseline ? { baseline: data.module.baseline } : {}),
    progress: (done, batches) => (bar ??= new Progress(`eval ${a.split}`, batches)).update(done),
    ...(a.explain ? { explain: (text: string) => { process.stderr.write(text); } } : {}),
    label: (k) => ({ batchSize: "--batch-size", metrics: "--metrics", backend: "--backend", ctc: "--ctc", blank: "--blank", beam: "--beam" } as Record<string, string>)[k] ?? k,
    ...(a.ctc ? { ctc: { blank: a.blank ?? 0, beam: a.beam ?? 1 } } : a.beam !== undefined ? { beam: a.beam } : {}),
  });
  (bar ?? new Progress(`eval ${a.split}`, 0)).finish(`eval ${a.split}: ${examples.length} examples`);
  const report = { model: ir.name, output: a.output, split: a.split, examples: examples.length, task, metrics: results, baselines, ...(matrix ? { confusion: matrix } : {}) };
  if (a.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    const show = (m: string, v: number | undefined) => (v === undefined ? "–" : ["accuracy", "exact", "error-rate", "precision", "recall", "f1"].includes(m) || /^top\d+$/.test(m) ? `${(100 * v).toFixed(2)}%` : v.toFixed(4));
    const lines = [`${ir.name}, output ${a.output}, ${a.split} split (${examples.length} examples), compared as ${task}:`];
    for (const m of names) lines.push(`  ${m.padEnd(12)} ${show(m, results[m])}${Object.entries(baselines).map(([b, r]) => (r[m] === undefined ? "" : `   (${b}: ${show(m, r[m])})`)).join("")}`);
    if (matrix) {
      // Rows: the target class; columns: the predicted one.
      const w = Math.max(6, ...matrix.counts.flat().map((c) => String(c).length + 1));
      lines.push("", `  confusion (rows: target class, columns: predicted)`, `  ${"".padStart(8)}${matrix.classes.map((c) => String(c).padStart(w)).join("")}`,
        ...matrix.counts.map((row, k) => `  ${String(matrix.classes[k]).padStart(8)}${row.map((c) => String(c).padStart(w)).join("")}`));
    }
    process.stdout.write(`${lines.join("\n")}\n`);
  }
  if (a.svg !== undefined) {
    if (!matrix) throw new UsageError(`--svg draws a confusion matrix, and output '${a.output}' ${task === "classes" ? "has more than 20 classes" : `is compared as ${task}, not classes`}; nothing was drawn`);
    writeFileAtomic(a.svg, confusionSvg(`${ir.name}: ${a.output} on the ${a.split} split (${examples.length} examples)`, matrix.classes, matrix.counts));
    process.stderr.write(`wrote ${a.svg}\n`);
  }
  return 0;
}
