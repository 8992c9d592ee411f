// `rnnc train`: fit() (src/api/fit.ts) on a data module, with progress bars, atomic resumable checkpoints, a CSV log and the training curves.
import { existsSync } from "node:fs";
import { MIN_SPLIT_ROWS, MIN_SPLIT_WORK, startScanHelper } from "../node/scan-helper.js";
import { assertNotInput, compiler, dimsFlag, loweringFlags, optsFlag, readData, readText, UsageError } from "./commands.js";
import { resolveDims } from "../runtime/dims.js";
import { checkWeights, modelParamSpecs, parseWeights, serializeWeights, trainingStateOf, type TrainingState } from "../weights/weights.js";
import { writeFileAtomic } from "../node/host.js";
import { assertReplaceable, lockOutput } from "./output-guard.js";
import { Progress } from "./progress.js";
import { trainingCurvesSvg } from "../picture/charts.js";
import { loadData } from "../api/data.js";
import { fitWith } from "../api/fit.js";
import type { TrainBackendName } from "../api/backend-choice.js";
import type { Tensor } from "../runtime/tensor.js";

export interface TrainFlags {
  file: string; model?: string | undefined; dims?: string | undefined; data: string; output: string;
  loss: "crossentropy" | "mse" | "ctc"; blank?: number | undefined; optimizer: "sgd" | "momentum" | "adam" | "rmsprop"; lr: number; clip?: number | undefined;
  epochs: number; batchSize: number; seed: number; out: string; resume: boolean; force?: boolean; limit?: number | undefined;
  backend: TrainBackendName | "auto"; passes?: boolean; disablePass?: string[] | undefined; dataOpt?: string | undefined; fused?: boolean; explain?: boolean; threads?: number | undefined;
  engine?: "node" | "torch"; nproc?: number | undefined; nnodes?: number | undefined; nodeRank?: number | undefined; master?: string | undefined; python?: string | undefined; device?: "auto" | "cpu" | "cuda" | undefined;
  schedule?: string | undefined; warmup?: number | undefined; earlyStop?: number | undefined; minDelta?: number | undefined; keepBest?: boolean; weightDecay?: number | undefined;
  metrics?: string | undefined; monitor?: string | undefined; accumulate?: number | undefined; validationSplit?: number | undefined;
}

export async function trainCommand(a: TrainFlags): Promise<number> {
  readText(a.file, "file");
  assertReplaceable(a.out, "weights");
  if (a.keepBest) assertReplaceable(a.out.replace(/\.json$/, "") + ".best.json", "weights");
  // One writer per checkpoint: a second run on the same -o stops here, naming the first.
  const release = lockOutput(a.out, `rnnc train ${a.file}`);
  try {
    return await train(a);
  } finally {
    release();
  }
}

/** The CLI's names for fit()'s options, in its messages. */
const flagOf: Record<string, string> = { optimizer: "--optimizer", epochs: "--epochs", batchSize: "--batch-size", accumulate: "--accumulate", learningRate: "--lr", clipNorm: "--clip", warmup: "--warmup",
  earlyStop: "--early-stop", minDelta: "--min-delta", weightDecay: "--weight-decay", metrics: "--metrics", monitor: "--monitor", backend: "--backend",
  validationSplit: "--validation-split", keepBest: "--keep-best", schedule: "--schedule", blank: "--blank", loss: "--loss", engine: "--engine" };

async function train(a: TrainFlags): Promise<number> {
  if (a.resume && a.force) throw new UsageError("give --resume (continue from the checkpoint in --out) or --force (start afresh over it), not both");
  const base = a.out.replace(/\.json$/, "");
  const svgPath = `${base}.loss.svg`, logPath = `${base}.log.csv`, bestPath = `${base}.best.json`;
  for (const o of [a.out, svgPath, logPath, ...(a.keepBest ? [bestPath] : [])]) assertNotInput(o, { spec: a.file, "data module": a.data });
  if (!a.resume && !a.force && existsSync(a.out))
    throw new UsageError(`'${a.out}' already exists: --resume continues training from it, --force starts afresh and replaces it after the first epoch`);
  const ir = compiler.model(a.file, a.model);
  const env = resolveDims(ir, dimsFlag(a.dims));
  const specs = modelParamSpecs(ir, env);
  const data = await loadData({ data: a.data, options: Object.fromEntries(optsFlag(a.dataOpt)), limit: a.limit, validationSplit: a.validationSplit, validationSplitName: "--validation-split" });
  let weights: Map<string, Tensor> | undefined;
  let resume: TrainingState | undefined;
  if (a.resume && existsSync(a.out)) {
    const text = readData(a.out, "checkpoint");
    weights = parseWeights(text, a.out);
    checkWeights(`model \`${ir.name}\``, specs, weights, a.out);
    resume = trainingStateOf(text, a.out);
    process.stderr.write(`resuming from ${a.out} after epoch ${resume?.epoch ?? 0}\n`);
  }
  if (a.backend === "fused") {
    const tfjsOnly = [a.fused === false && "--no-fused", a.passes === false && "--no-passes", a.disablePass?.length && "--disable-pass"].filter(Boolean);
    if (tfjsOnly.length) throw new UsageError(`${tfjsOnly.join(" and ")} shape${tfjsOnly.length === 1 ? "s" : ""} TensorFlow.js' lowering, which --backend fused does not use; give --backend tfjs-wasm (or auto) with ${tfjsOnly.length === 1 ? "it" : "them"}`);
  }
  const torch = a.engine === "torch";
  if (!torch) {
    const given = [a.nproc !== undefined && "--nproc", a.nnodes !== undefined && "--nnodes", a.nodeRank !== undefined && "--node-rank", a.master !== undefined && "--master", a.python !== undefined && "--python", a.device !== undefined && "--device"].filter(Boolean);
    if (given.length) throw new UsageError(`${given.join(", ")} set${given.length === 1 ? "s" : ""} up PyTorch; give --engine torch with ${given.length === 1 ? "it" : "them"}`);
    if (a.threads !== undefined && a.threads !== 1 && a.threads !== 2) throw new UsageError(`--threads must be 1 or 2 (the fused kernels' helper thread), not ${a.threads}; with --engine torch it sets PyTorch's threads per process`);
  }
  const threads = !torch && a.fused !== false && a.threads !== 1 && startScanHelper() ? 2 : 1;
  const schedule = a.schedule !== undefined || Boolean(a.warmup);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.on("SIGINT", onSigint);
  const seconds: number[] = [];
  let bar: Progress | undefined;
  let result;
  try {
    // The training itself is fit()'s (src/api/fit.ts); the CLI adds the progress bars, checkpoints, log and curves.
    result = await fitWith({ ir, env }, data, {
      output: a.output, loss: a.loss, optimizer: a.optimizer, learningRate: a.lr, epochs: a.epochs, batchSize: a.batchSize, seed: a.seed,
      ...(a.clip !== undefined ? { clipNorm: a.clip } : {}), ...(a.weightDecay !== undefined ? { weightDecay: a.weightDecay } : {}), ...(a.schedule !== undefined ? { schedule: a.schedule } : {}),
      ...(a.warmup !== undefined ? { warmup: a.warmup } : {}), ...(a.accumulate !== undefined ? { accumulate: a.accumulate } : {}), ...(a.earlyStop !== undefined ? { earlyStop: a.earlyStop } : {}),
      ...(a.minDelta !== undefined ? { minDelta: a.minDelta } : {}), ...(a.monitor !== undefined ? { monitor: a.monitor } : {}), ...(a.keepBest ? { keepBest: true } : {}), ...(a.blank !== undefined ? { blank: a.blank } : {}),
      metrics: (a.metrics ?? "").split(","), backend: a.backend, ...(torch ? { engine: "torch" as const, torch: { python: a.python, nproc: a.nproc, nnodes: a.nnodes, nodeRank: a.nodeRank, master: a.master, threads: a.threads, device: a.device } } : {}), ...(weights ? { weights } : {}), ...(resume ? { resume } : {}), signal: controller.signal,
      ...(a.explain ? { explain: (text: string) => { process.stderr.write(text); } } : {}),
      callbacks: {
        onEpochBegin: (epoch, batches) => { bar = new Progress(`epoch ${epoch}/${a.epochs}`, batches); },
        onBatchEnd: (k, logs) => { bar?.update(k, `loss ${logs.meanLoss.toFixed(4)}`); },
        onEpochEnd: (logs, trained, state) => {
          const text = serializeWeights(ir.name, env, specs, trained, state);
          writeFileAtomic(a.out, text);
          if (a.keepBest && logs.best) writeFileAtomic(bestPath, text);
          seconds.push(logs.seconds);
          writeFileAtomic(logPath, epochLog(state, seconds));
          // The losses, the monitored held-out value (or the built-in metric), and the learning rate when it moves.
          const h = state.history, watched = !a.monitor || a.monitor === "loss" ? h.metricName : a.monitor;
          writeFileAtomic(svgPath, trainingCurvesSvg(`${ir.name}: ${a.loss} loss`, [
            { title: `${a.loss} loss`, series: [{ name: "train", values: h.train, color: "#1f77b4" }, { name: logs.heldOutSplit, values: h.test, color: "#d62728" }] },
            { title: `${logs.heldOutSplit} ${watched}`, series: [{ name: watched, values: watched === h.metricName ? h.metric : h.metrics?.[watched] ?? [], color: "#2ca02c" }] },
            ...(schedule ? [{ title: "learning rate (at the end of each epoch)", series: [{ name: "lr", values: h.lr ?? [], color: "#9467bd" }] }] : []),
          ]));
          bar?.finish(`epoch ${logs.epoch}/${a.epochs}  train loss ${logs.loss.toFixed(4)}  ${logs.heldOutSplit} loss ${logs.heldOutLoss.toFixed(4)}  ${logs.metricName} ${logs.metric.toFixed(4)}${Object.entries(logs.metrics).map(([k, v]) => `  ${k} ${v.toFixed(4)}`).join("")}${schedule ? `  lr ${logs.learningRate.toPrecision(3)}` : ""}`);
          bar = undefined;
        },
      },
    }, (option) => flagOf[option] ?? option, {
      lowering: a,
      tfEngine: async (backend, ir2, env2, params, settings) => {
        const { useBackend } = await import("../tfjs/backend.js");
        const { Trainer } = await import("../tfjs/train.js");
        await useBackend(backend);
        return new Trainer(ir2, env2, params, { ...settings, lowering: await loweringFlags(backend, a) });
      },
      ...(threads > 1 ? { fusedNote: `; batches of ${MIN_SPLIT_ROWS} or more rows and ${MIN_SPLIT_WORK} or more rows × steps split over ${threads} threads` } : {}),
    });
  } finally {
    process.off("SIGINT", onSigint);
  }
  if (result.served) {
    process.stderr.write(result.interrupted ? `machine ${a.nodeRank}: interrupted; its processes are stopped (rank 0's machine writes the checkpoints)\n`
      : `machine ${a.nodeRank}: its processes trained under rank 0's (on ${a.master}), which writes the checkpoints\n`);
    return result.interrupted ? 130 : 0;
  }
  if (result.interrupted) {
    bar?.finish(`epoch ${result.state.epoch + 1}/${a.epochs} interrupted`);
    process.stderr.write(`interrupted: ${result.state.epoch ? `the checkpoint of epoch ${result.state.epoch} in ${a.out} is intact; --resume continues from it` : "no epoch finished, nothing was written"}\n`);
    return 130;
  }
  if (result.stopped) process.stderr.write(`${result.stopped}${a.keepBest ? `, kept in ${bestPath}` : ""}\n`);
  process.stderr.write(`wrote ${a.out}, ${svgPath} and ${logPath}${a.keepBest && existsSync(bestPath) ? ` (best epoch: ${bestPath})` : ""}\n`);
  return 0;
}

/** Every epoch as a CSV row: epoch, learning rate, losses, the metric, and its seconds (the checkpoint's; for a checkpoint of an older rnnc, empty before this run). */
function epochLog(state: TrainingState, seconds: readonly number[]): string {
  const h = state.history;
  const first = state.epoch - seconds.length;
  const keys = Object.keys(h.metrics ?? {});
  return [["epoch", "lr", "train_loss", `${h.heldOut ?? "test"}_loss`, h.metricName, ...keys, "seconds"].join(","), ...h.train.map((t, k) =>
    [k + 1, h.lr?.[k] ?? "", t, h.test[k], h.metric[k], ...keys.map((x) => h.metrics![x]![k]), h.seconds?.[k] !== undefined ? h.seconds[k]!.toFixed(2) : k >= first ? seconds[k - first]!.toFixed(2) : ""].join(","))].join("\n") + "\n";
}
