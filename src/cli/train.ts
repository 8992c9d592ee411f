// `rnnc train`: trains a model on tfjs from a data module, with progress, per-epoch metrics, atomic resumable checkpoints and a loss curve.
import { existsSync } from "node:fs";
import { MIN_SPLIT_ROWS, MIN_SPLIT_WORK, startScanHelper } from "../node/scan-helper.js";
import { assertNotInput, compiler, dimsFlag, loweringFlags, readData, readText, UsageError } from "./commands.js";
import { RnncError } from "../diagnostics/errors.js";
import { resolveDims } from "../runtime/dims.js";
import { mulberry32 } from "../runtime/random.js";
import { checkWeights, initParams, modelParamSpecs, parseWeights, serializeWeights, trainingStateOf, type TrainingState } from "../weights/weights.js";
import { writeFileAtomic } from "../node/host.js";
import { assertReplaceable, lockOutput } from "./output-guard.js";
import { checkExamples, targetKindOf } from "./data-check.js";
import { Progress } from "./progress.js";
import { trainingCurvesSvg } from "./svg.js";
import { bestEpoch, learningRate, modeOf, parseSchedule, shouldStop } from "./schedule.js";
import { batchOf, loadData } from "./data.js";
import type { ScanPath } from "../runtime/training.js";
import { chooseTfBackend, chooseTrainBackend, productsExplained, type TrainBackendName } from "./backend-choice.js";
import { FusedTrainer, fusedTrainingUnsupported } from "../fused/train-model.js";
import type { ModelIR } from "../ir/ir.js";
import type { DimEnv } from "../runtime/dims.js";
import type { Tensor } from "../runtime/tensor.js";
import type { TrainEngine, TrainSettings } from "../runtime/training.js";

export interface TrainFlags {
  file: string; model?: string | undefined; dims?: string | undefined; data: string; output: string;
  loss: "crossentropy" | "mse"; optimizer: "sgd" | "momentum" | "adam" | "rmsprop"; lr: number; clip?: number | undefined;
  epochs: number; batchSize: number; seed: number; out: string; resume: boolean; force?: boolean; limit?: number | undefined;
  backend: TrainBackendName | "auto"; passes?: boolean; disablePass?: string[] | undefined; dataOpt?: string | undefined; fused?: boolean; explain?: boolean; threads?: 1 | 2;
  schedule?: string | undefined; warmup?: number | undefined; earlyStop?: number | undefined; minDelta?: number | undefined; keepBest?: boolean; weightDecay?: number | undefined;
  metrics?: string | undefined; monitor?: string | undefined; accumulate?: number | undefined;
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const rng = mulberry32(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) { const j = Math.floor(rng() * (i + 1)); [out[i], out[j]] = [out[j]!, out[i]!]; }
  return out;
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

async function train(a: TrainFlags): Promise<number> {
  for (const [flag, v] of [["--epochs", a.epochs], ["--batch-size", a.batchSize]] as const)
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`${flag} must be a whole number ≥ 1, not ${v}`);
  if (!(a.lr > 0)) throw new UsageError(`--lr must be a positive number, not ${a.lr}`);
  if (a.clip !== undefined && !(a.clip > 0)) throw new UsageError(`--clip must be a positive number, not ${a.clip}`);
  if (a.resume && a.force) throw new UsageError("give --resume (continue from the checkpoint in --out) or --force (start afresh over it), not both");
  const accumulate = a.accumulate ?? 1;
  if (!Number.isInteger(accumulate) || accumulate < 1) throw new UsageError(`--accumulate must be a whole number of batches ≥ 1, not ${a.accumulate}`);
  const schedule = parseSchedule(a.schedule);
  const warmup = a.warmup ?? 0;
  if (!(warmup >= 0)) throw new UsageError(`--warmup must be a number of epochs ≥ 0, not ${a.warmup}`);
  if (a.earlyStop !== undefined && !(Number.isInteger(a.earlyStop) && a.earlyStop >= 1)) throw new UsageError(`--early-stop must be a whole number of epochs ≥ 1, not ${a.earlyStop}`);
  const minDelta = a.minDelta ?? 0;
  if (!(minDelta >= 0)) throw new UsageError(`--min-delta must be a number ≥ 0, not ${a.minDelta}`);
  if (a.weightDecay !== undefined && !(a.weightDecay >= 0 && a.weightDecay * a.lr < 1)) throw new UsageError(`--weight-decay must be ≥ 0 and below 1 / --lr, not ${a.weightDecay}`);
  const base = a.out.replace(/\.json$/, "");
  const svgPath = `${base}.loss.svg`, logPath = `${base}.log.csv`, bestPath = `${base}.best.json`;
  for (const o of [a.out, svgPath, logPath, ...(a.keepBest ? [bestPath] : [])]) assertNotInput(o, { spec: a.file, "data module": a.data });
  if (!a.resume && !a.force && existsSync(a.out))
    throw new UsageError(`'${a.out}' already exists: --resume continues training from it, --force starts afresh and replaces it after the first epoch`);
  const ir = compiler.model(a.file, a.model);
  const env = resolveDims(ir, dimsFlag(a.dims));
  const specs = modelParamSpecs(ir, env);

  const { train, test } = await loadData(a);
  // Every example against the model and the loss, before anything trains on it.
  checkExamples(ir, env, a.output, targetKindOf(ir, env, a.output, a.loss), [{ name: "the training split", examples: train }, { name: "the held-out split", examples: test }]);
  // --metrics [OUTPUT:]METRIC,…: scored on the held-out split after every epoch (rnnc eval's definitions).
  const { checkedMetrics, fusedCannotScore, score, taskOf } = await import("./eval.js");
  const extra = (a.metrics ?? "").split(",").map((m) => m.trim()).filter(Boolean).map((m) => {
    const [output, metric] = m.includes(":") ? m.split(":", 2) as [string, string] : [a.output, m];
    if (!ir.outputs.some((o) => o.name === output)) throw new UsageError(`--metrics ${m}: model ${ir.name} has no output '${output}' (its outputs: ${ir.outputs.map((o) => o.name).join(", ")})`);
    checkedMetrics(taskOf(ir, output, test.map((e) => e.target)), output, [metric]);
    return { key: output === a.output ? metric : `${output}:${metric}`, output, metric };
  });
  const builtIn = a.loss === "crossentropy" ? "accuracy" : "rmse";
  const monitor = a.monitor ?? "loss";
  if (monitor !== "loss" && monitor !== builtIn && !extra.some((x) => x.key === monitor))
    throw new UsageError(`--monitor ${monitor}: monitor loss, ${builtIn} or one of --metrics (${extra.map((x) => x.key).join(", ") || "none given"})`);
  const mode = monitor === "loss" ? "min" as const : modeOf(monitor);

  let params = initParams(specs, a.seed);
  let state: TrainingState = { epoch: 0, history: { train: [], test: [], metric: [], metricName: a.loss === "crossentropy" ? "accuracy" : "rmse" } };
  if (a.resume && existsSync(a.out)) {
    const text = readData(a.out, "checkpoint");
    params = parseWeights(text, a.out);
    checkWeights(`model \`${ir.name}\``, specs, params, a.out);
    state = trainingStateOf(text, a.out) ?? state;
    process.stderr.write(`resuming from ${a.out} after epoch ${state.epoch}\n`);
  }

  const settings: TrainSettings = { output: a.output, loss: a.loss, optimizer: a.optimizer, learningRate: a.lr, ...(a.clip !== undefined ? { clipNorm: a.clip } : {}), ...(a.weightDecay ? { weightDecay: a.weightDecay } : {}) };
  const choice = chooseTrainBackend(a.backend, () => fusedTrainingUnsupported(ir, a.output), a);
  if (a.explain) process.stderr.write(`backend: ${choice.backend} (${choice.why})\n${productsExplained()}\n`);
  const threads = a.fused !== false && a.threads !== 1 && startScanHelper() ? 2 : 1;
  const trainer = await trainerFor(choice.backend, ir, env, params, settings, a);
  if (state.optimizer) {
    const restored = await trainer.restoreOptimizer(state.optimizer);
    if (!restored) process.stderr.write(`note: the checkpoint's ${state.optimizer.name} state does not fit --optimizer ${a.optimizer}; it starts afresh\n`);
  }
  let interrupted = false;
  let lr = a.lr;
  const seconds: number[] = [];
  const onSigint = () => { interrupted = true; };
  process.on("SIGINT", onSigint);
  /** The monitored held-out series (early stopping, keep-best). */
  const monitored = (): number[] => (monitor === "loss" ? state.history.test : monitor === builtIn ? state.history.metric : state.history.metrics?.[monitor] ?? []);
  const what = monitor === "loss" ? "the held-out loss" : `held-out ${monitor}`;
  const stopping = (): string | undefined => {
    if (a.earlyStop === undefined || !shouldStop(monitored(), a.earlyStop, minDelta, mode)) return undefined;
    const b = bestEpoch(monitored(), minDelta, mode);
    return `stopping early: ${what} has not improved by more than ${minDelta} for ${a.earlyStop} epoch${a.earlyStop > 1 ? "s" : ""}; the best was epoch ${b + 1} (${monitored()[b]!.toFixed(4)})${a.keepBest ? `, kept in ${bestPath}` : ""}`;
  };
  let stopped = stopping();
  try {
    const firstEpoch = state.epoch + 1;
    for (let epoch = firstEpoch; epoch <= a.epochs && !interrupted && !stopped; epoch++) {
      const started = Date.now();
      const order = shuffled(train, a.seed * 1000 + epoch);
      const batches = Math.ceil(order.length / a.batchSize);
      const bar = new Progress(`epoch ${epoch}/${a.epochs}`, batches);
      let sum = 0;
      let count = 0;
      for (let k = 0; k < batches && !interrupted; k++) {
        const chunk = order.slice(k * a.batchSize, (k + 1) * a.batchSize);
        const loss = trainer.accumulate(batchOf(ir, chunk));
        if ((k + 1) % accumulate === 0 || k === batches - 1) {
          lr = learningRate(schedule, a.lr, warmup, { epoch, fraction: (k + 1) / batches, epochs: a.epochs, heldOut: state.history.test });
          trainer.setLearningRate(lr);
          trainer.apply();
        }
        if (a.explain && k === 0 && epoch === firstEpoch) process.stderr.write(explainPaths(trainer.scanPaths(), threads));
        if (!Number.isFinite(loss)) throw new RnncError("RNN0605", `the loss became ${loss} in epoch ${epoch}`, ["the learning rate may be too high"], "lower --lr, or clip gradients with --clip 1");
        sum += loss * chunk.length;
        count += chunk.length;
        bar.update(k + 1, `loss ${(sum / count).toFixed(4)}`);
        await new Promise((r) => setImmediate(r)); // lets Ctrl-C (SIGINT) be handled between batches
      }
      if (interrupted) { bar.finish(`epoch ${epoch}/${a.epochs} interrupted`); break; }
      let testLoss = 0, metric = 0;
      for (let k = 0; k < test.length; k += a.batchSize) {
        const chunk = test.slice(k, k + a.batchSize);
        const e = trainer.evaluate(batchOf(ir, chunk));
        testLoss += e.loss * chunk.length;
        metric += e.metric * chunk.length;
      }
      testLoss /= test.length;
      metric /= test.length;
      const lrs = state.history.lr ?? state.history.train.map(() => a.lr);
      const scored: Record<string, number[]> = { ...state.history.metrics };
      if (extra.length) {
        const params = trainer.params();
        for (const output of new Set(extra.map((x) => x.output))) {
          const mine = extra.filter((x) => x.output === output);
          // As rnnc eval computes it: on the fused kernels where they can, else on TensorFlow.js (set up if this run has not).
          const engine = choice.backend !== "fused" || fusedCannotScore(ir, output) ? "tfjs" : "fused";
          if (engine === "tfjs" && choice.backend === "fused") await (await import("../tfjs/backend.js")).useBackend(chooseTfBackend("auto").backend);
          const r = await score(ir, env, params, test, output, mine.map((x) => x.metric), { batchSize: a.batchSize, engine });
          for (const x of mine) scored[x.key] = [...(scored[x.key] ?? []), r.results[x.metric] ?? NaN];
        }
      }
      state = {
        epoch,
        history: { ...state.history, train: [...state.history.train, sum / count], test: [...state.history.test, testLoss], metric: [...state.history.metric, metric], lr: [...lrs, lr], ...(extra.length ? { metrics: scored } : {}) },
        optimizer: await trainer.optimizerState(),
      };
      // A checkpoint holds finite numbers only (else --resume could not read it): a diverged epoch is not written.
      const heldOut = [["held-out loss", testLoss], [state.history.metricName, metric], ...extra.map((x) => [x.key, scored[x.key]!.at(-1)!] as const)] as const;
      for (const [name, v] of heldOut) if (!Number.isFinite(v)) throw new RnncError("RNN0605", `the ${name} became ${v} in epoch ${epoch}; the checkpoint of ${epoch > 1 ? `epoch ${epoch - 1}` : "no epoch"} is kept`, ["the learning rate may be too high, or the held-out split holds examples the training split does not prepare the model for"], "lower --lr, or clip gradients with --clip 1");
      const trained = trainer.params();
      const diverged = [...trained].find(([, t]) => t.data.some((v) => !Number.isFinite(v)));
      if (diverged) throw new RnncError("RNN0605", `param ${diverged[0]} holds a non-finite value after epoch ${epoch}; the checkpoint of ${epoch > 1 ? `epoch ${epoch - 1}` : "no epoch"} is kept`, ["the learning rate may be too high"], "lower --lr, or clip gradients with --clip 1");
      const weights = serializeWeights(ir.name, env, specs, trained, state);
      writeFileAtomic(a.out, weights);
      if (a.keepBest && bestEpoch(monitored(), minDelta, mode) === epoch - 1) writeFileAtomic(bestPath, weights);
      seconds.push((Date.now() - started) / 1000);
      writeFileAtomic(logPath, epochLog(state, seconds));
      // The losses, the monitored held-out value (or the built-in metric), and the learning rate when it moves.
      const watched = monitor === "loss" ? builtIn : monitor;
      writeFileAtomic(svgPath, trainingCurvesSvg(`${ir.name}: ${a.loss} loss`, [
        { title: `${a.loss} loss`, series: [{ name: "train", values: state.history.train, color: "#1f77b4" }, { name: "held out", values: state.history.test, color: "#d62728" }] },
        { title: `held-out ${watched}`, series: [{ name: watched, values: watched === builtIn ? state.history.metric : state.history.metrics?.[watched] ?? [], color: "#2ca02c" }] },
        ...(schedule.kind !== "constant" || warmup ? [{ title: "learning rate (at the end of each epoch)", series: [{ name: "lr", values: state.history.lr ?? [], color: "#9467bd" }] }] : []),
      ]));
      bar.finish(`epoch ${epoch}/${a.epochs}  train loss ${(sum / count).toFixed(4)}  test loss ${testLoss.toFixed(4)}  ${state.history.metricName} ${metric.toFixed(4)}${extra.map((x) => `  ${x.key} ${scored[x.key]!.at(-1)!.toFixed(4)}`).join("")}${schedule.kind !== "constant" || warmup ? `  lr ${lr.toPrecision(3)}` : ""}`);
      stopped = stopping();
    }
  } finally {
    process.off("SIGINT", onSigint);
    trainer.dispose();
  }
  if (interrupted) {
    process.stderr.write(`interrupted: ${state.epoch ? `the checkpoint of epoch ${state.epoch} in ${a.out} is intact; --resume continues from it` : "no epoch finished, nothing was written"}\n`);
    return 130;
  }
  if (stopped) process.stderr.write(`${stopped}\n`);
  process.stderr.write(`wrote ${a.out}, ${svgPath} and ${logPath}${a.keepBest && existsSync(bestPath) ? ` (best epoch: ${bestPath})` : ""}\n`);
  return 0;
}

/** The engine that trains: the fused kernels alone, or TensorFlow.js on the chosen backend (loaded only then). */
async function trainerFor(backend: TrainBackendName, ir: ModelIR, env: DimEnv, params: ReadonlyMap<string, Tensor>, settings: TrainSettings, a: TrainFlags): Promise<TrainEngine> {
  if (backend === "fused") {
    const tfjsOnly = [a.fused === false && "--no-fused", a.passes === false && "--no-passes", a.disablePass?.length && "--disable-pass"].filter(Boolean);
    if (tfjsOnly.length) throw new UsageError(`${tfjsOnly.join(" and ")} shape${tfjsOnly.length === 1 ? "s" : ""} TensorFlow.js' lowering, which --backend fused does not use; give --backend tfjs-wasm (or auto) with ${tfjsOnly.length === 1 ? "it" : "them"}`);
    const why = fusedTrainingUnsupported(ir, a.output);
    if (why) throw new UsageError(`--backend fused cannot train output '${a.output}' of model ${ir.name}: ${why}; --backend tfjs-wasm can`);
    return new FusedTrainer(ir, env, params, settings);
  }
  const { useBackend } = await import("../tfjs/backend.js");
  const { Trainer } = await import("../tfjs/train.js");
  await useBackend(backend);
  return new Trainer(ir, env, params, { ...settings, lowering: await loweringFlags(backend, a) });
}

/** Every epoch as a CSV row: epoch, learning rate, losses, the metric, and this run's seconds (empty for epochs before a resume). */
function epochLog(state: TrainingState, seconds: readonly number[]): string {
  const h = state.history;
  const first = state.epoch - seconds.length;
  const keys = Object.keys(h.metrics ?? {});
  return [["epoch", "lr", "train_loss", "test_loss", h.metricName, ...keys, "seconds"].join(","), ...h.train.map((t, k) =>
    [k + 1, h.lr?.[k] ?? "", t, h.test[k], h.metric[k], ...keys.map((x) => h.metrics![x]![k]), k >= first ? seconds[k - first]!.toFixed(2) : ""].join(","))].join("\n") + "\n";
}

/** One line per scan: the layer, the path it took and why. */
function explainPaths(paths: ReadonlyMap<number, ScanPath>, threads: number): string {
  if (!paths.size) return "no scans: nothing to fuse\n";
  const split = threads > 1 ? `; batches of ${MIN_SPLIT_ROWS} or more rows and ${MIN_SPLIT_WORK} or more rows × steps split over ${threads} threads` : "";
  return [...paths.values()].map((p) => `${p.kind} of layer \`${p.layer}\`: ${p.fused ? "fused" : "op by op"} (${p.why}${p.fused ? split : ""})\n`
    + (p.loopsInJs?.() ?? []).map((l) => `  ${l}\n`).join("")).join("");
}
