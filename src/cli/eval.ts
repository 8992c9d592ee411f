// `rnnc eval`: a trained model's metrics on a split of its data module: classification (accuracy, top-k, cross-entropy),
// values (RMSE, MAE, MSE) or generated token sequences (edit-distance error rate, exact), with baselines beside them.
import { chooseEvalBackend, productsExplained, type TrainBackendName } from "../api/backend-choice.js";
import { resolveDims } from "../runtime/dims.js";
import { checkWeights, modelParamSpecs, parseWeights } from "../weights/weights.js";
import { assertNotInput, compiler, dimsGiven, optsFlag, readData, readText, UsageError } from "./commands.js";
import { confusionSvg } from "../api/svg.js";
import { writeFileAtomic } from "../node/host.js";
import { assertReplaceable } from "./output-guard.js";
import { checkedMetrics, fusedCannotScore, metricsOf, score, taskOf } from "../api/score.js";
import { Progress } from "./progress.js";
import { loadData } from "../api/data.js";
import { checkExamples } from "../api/data-check.js";
import { evalDim } from "../ir/dims.js";

export interface EvalFlags {
  file: string; model?: string | undefined; dims?: string | undefined; data: string; dataOpt?: string | undefined; weights: string;
  output: string; split: "test" | "train"; metrics?: string | undefined; limit?: number | undefined; batchSize: number;
  backend: TrainBackendName | "auto"; json?: boolean; explain?: boolean; allowNonfinite?: boolean; svg?: string | undefined;
}

export async function evalCommand(a: EvalFlags): Promise<number> {
  readText(a.file, "file");
  if (a.svg !== undefined) {
    if (!a.svg.endsWith(".svg")) throw new UsageError(`--svg ${a.svg}: the picture's name must end in .svg`);
    assertNotInput(a.svg, { spec: a.file, "weights file": a.weights, "data module": a.data });
    assertReplaceable(a.svg, "picture");
  }
  if (!Number.isInteger(a.batchSize) || a.batchSize < 1) throw new UsageError(`--batch-size must be a whole number ≥ 1, not ${a.batchSize}`);
  const ir = compiler.model(a.file, a.model);
  if (!ir.outputs.some((o) => o.name === a.output)) throw new UsageError(`model ${ir.name} has no output '${a.output}' (its outputs: ${ir.outputs.map((o) => o.name).join(", ")})`);
  const env = resolveDims(ir, dimsGiven(a, ir.dims.map((d) => d.name)));
  const specs = modelParamSpecs(ir, env);
  const params = parseWeights(readData(a.weights, "weights file"), a.weights, "f32", { allowNonfinite: a.allowNonfinite === true });
  checkWeights(`model \`${ir.name}\``, specs, params, a.weights);
  if (a.limit !== undefined && !(Number.isInteger(a.limit) && a.limit >= 1)) throw new UsageError(`--limit must be a whole number ≥ 1, not ${a.limit}`);
  const data = await loadData({ data: a.data, options: Object.fromEntries(optsFlag(a.dataOpt)) });
  const examples = a.limit !== undefined ? data[a.split].slice(0, a.limit) : data[a.split];
  // The inputs checked against the model first (the targets are checked against the output's kind as they are scored).
  checkExamples(ir, env, a.output, undefined, [{ name: `the ${a.split === "test" ? "held-out" : "training"} split`, examples }]);
  const task = taskOf(ir, a.output, examples.map((e) => e.target));
  let names = checkedMetrics(task, a.output, a.metrics ? a.metrics.split(",").map((m) => m.trim()) : metricsOf[task]);
  // Top-k says something only when there are more than k classes (with 2 classes, top-5 is always right).
  const outNode = ir.nodes[ir.outputs.find((o) => o.name === a.output)!.node]!;
  const classes = task === "classes" ? evalDim(outNode.shape[outNode.shape.length - 1]!, env) : undefined;
  if (classes !== undefined) {
    const tooFew = names.filter((m) => /^top\d+$/.test(m) && Number(m.slice(3)) >= classes);
    if (a.metrics && tooFew.length) throw new UsageError(`--metrics ${tooFew[0]}: output '${a.output}' has ${classes} classes, so every example is in its top ${tooFew[0]!.slice(3)}; ask for top-k with k below ${classes}`);
    names = names.filter((m) => !tooFew.includes(m));
  }
  const choice = chooseEvalBackend(a.backend, () => fusedCannotScore(ir, a.output));
  if (a.explain) process.stderr.write(`backend: ${choice.backend} (${choice.why})\n${productsExplained()}\n`);
  if (choice.backend === "fused") {
    const why = fusedCannotScore(ir, a.output);
    if (why) throw new UsageError(`--backend fused cannot compute output '${a.output}' of model ${ir.name}: ${why}; --backend tfjs-wasm can`);
  } else await (await import("../tfjs/backend.js")).useBackend(choice.backend);
  const bar = new Progress(`eval ${a.split}`, Math.ceil(examples.length / a.batchSize));
  const { results, baselines, confusion: matrix } = await score(ir, env, params, examples, a.output, names, { batchSize: a.batchSize, train: data.train, ...(data.module.baseline ? { baseline: data.module.baseline } : {}), progress: (done) => bar.update(done), engine: choice.backend === "fused" ? "fused" : "tfjs" });
  bar.finish(`eval ${a.split}: ${examples.length} examples`);
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
