// Training a model on examples: fit() checks the data, batches and pads it, runs the fused kernels or TensorFlow.js,
// follows the learning-rate schedule, scores the held-out split every epoch (validation, which everything selected is
// selected on; else test, only to watch) and stops early; callbacks hear each batch and epoch (the CLI's progress bars,
// checkpoints and curves are such callbacks).
import { RnncError, UsageError } from "../diagnostics/errors.js";
import type { ModelIR } from "../ir/ir.js";
import type { DimEnv } from "../runtime/dims.js";
import { mulberry32 } from "../runtime/random.js";
import { DropoutEngine } from "../runtime/dropout-engine.js";
import { dropoutExplained, dropoutTraining } from "../runtime/dropout.js";
import type { Tensor } from "../runtime/tensor.js";
import { metricNameOf, outputIsProbability, type EpochPlan, type EpochRunner, type ScanPath, type TrainEngine, type TrainSettings } from "../runtime/training.js";
import { checkWeights, initParams, modelParamSpecs, type TrainingState } from "../weights/weights.js";
import { FusedTrainer, fusedTrainingUnsupported } from "../fused/train-model.js";
import { chooseTfBackend, chooseTrainBackend, productsExplained, type TrainBackendName } from "./backend-choice.js";
import { assertOutput, checkedCtc, checkExamples, targetKindOf } from "./data-check.js";
import { assertExamples, carveValidation, type Example } from "./data.js";
import { bestEpoch, learningRate, modeOf, parseSchedule, shouldStop } from "./schedule.js";
import { LocalEpochs } from "./local-epochs.js";
import type { TorchOptions } from "../torch/engine.js";

/** What one epoch ended with: the losses, the built-in metric (accuracy or RMSE), any asked-for metrics, the learning rate. */
export interface EpochLogs {
  readonly epoch: number;
  readonly loss: number;
  /** The loss on the held-out split scored every epoch: validation, or test when there is no validation split (`heldOutSplit`). */
  readonly heldOutLoss: number;
  readonly heldOutSplit: "validation" | "test";
  /** The built-in held-out metric: accuracy for crossentropy, RMSE for mse, greedy decoding's label error rate for ctc (named by `metricName`). */
  readonly metric: number;
  readonly metricName: string;
  /** The `metrics` asked for, on the held-out split. */
  readonly metrics: Readonly<Record<string, number>>;
  readonly learningRate: number;
  readonly seconds: number;
  /** Whether this epoch is the best so far by the monitored value. */
  readonly best: boolean;
}

export interface FitCallbacks {
  onEpochBegin?(epoch: number, batches: number): void | Promise<void>;
  onBatchEnd?(batch: number, logs: { readonly epoch: number; readonly loss: number; readonly meanLoss: number }): void | Promise<void>;
  /** After each epoch, with the weights and the training state a checkpoint holds (`writeWeights(model, weights, path, state)`). */
  onEpochEnd?(logs: EpochLogs, weights: ReadonlyMap<string, Tensor>, state: TrainingState): void | Promise<void>;
}

export interface FitOptions {
  /**
   * The output trained, and its loss: `crossentropy` for class scores or probabilities, `mse` for values, `ctc` for a
   * sequence of class scores read as alignments of each example's label list (speech: frames and labels unaligned).
   */
  readonly output: string;
  readonly loss: "crossentropy" | "mse" | "ctc";
  /** CTC's blank class (default 0): no label may be it. */
  readonly blank?: number;
  readonly optimizer?: "adam" | "sgd" | "momentum" | "rmsprop";
  readonly learningRate?: number;
  readonly epochs?: number;
  readonly batchSize?: number;
  /** Seeds the initial weights (unless `weights` are given) and the order of the examples in each epoch. */
  readonly seed?: number;
  /** Clips the gradients' global norm. */
  readonly clipNorm?: number;
  readonly weightDecay?: number;
  /** A learning-rate schedule: `step,every=5,gamma=0.5`, `exponential`, `cosine`, `plateau,patience=2` (the CLI's --schedule). */
  readonly schedule?: string;
  /** Epochs of linear warm-up. */
  readonly warmup?: number;
  /** Batches whose gradients are summed before each update. */
  readonly accumulate?: number;
  /**
   * Carves a validation split from the end of the training examples (this fraction) when the data has none. Early
   * stopping, a plateau schedule and `keepBest` select on validation only: without one they carve a tenth.
   */
  readonly validationSplit?: number;
  /** The caller keeps the best epoch (by `logs.best`, as the CLI's --keep-best): a selection, made on validation. */
  readonly keepBest?: boolean;
  /** Stops after this many epochs without improvement of the monitored value by more than `minDelta`. */
  readonly earlyStop?: number;
  readonly minDelta?: number;
  /** What early stopping and `best` watch: `loss` (held out, the default), the built-in metric or one of `metrics`. */
  readonly monitor?: string;
  /** Held-out metrics scored after every epoch, `[OUTPUT:]METRIC` (as rnnc eval names them: f1, mae, top5, …). */
  readonly metrics?: readonly string[];
  /** `auto` (the default): the fused kernels where they can train the model, else TensorFlow.js. */
  readonly backend?: TrainBackendName | "auto";
  /**
   * `node` (the default): this process, on `backend`. `torch`: PyTorch in other processes (torchrun and
   * DistributedDataParallel with `torch.nproc` of them), the same training step for step.
   */
  readonly engine?: "node" | "torch";
  readonly torch?: TorchOptions;
  /** The weights to start from (else freshly initialized from `seed`), and a checkpoint's state to continue. */
  readonly weights?: ReadonlyMap<string, Tensor>;
  readonly resume?: TrainingState;
  readonly callbacks?: FitCallbacks;
  /** Stops training between batches; the last finished epoch's weights are returned. */
  readonly signal?: AbortSignal;
  /** Hears why the backend and each scan's path were chosen. */
  readonly explain?: (text: string) => void;
  /** Hears what was decided for the caller (a checkpoint's optimizer state that does not fit starts afresh); stderr by default. */
  readonly note?: (text: string) => void;
}

export interface FitResult {
  readonly weights: Map<string, Tensor>;
  readonly state: TrainingState;
  /** Why training ended before `epochs`: early stopping, or the signal. */
  readonly stopped?: string;
  readonly interrupted: boolean;
  /** This machine's PyTorch processes trained under another machine's rank 0 (`torch.nodeRank` ≥ 1), which keeps the weights and checkpoints. */
  readonly served?: boolean;
}

/**
 * The data fit() trains on (loadData gives it): the training examples, and a validation split scored every epoch and
 * selected on; without one, the test split is scored every epoch only to watch (nothing is selected on it).
 */
export interface FitData { readonly train: readonly Example[]; readonly validation?: readonly Example[] | undefined; readonly test?: readonly Example[] | undefined }

/** How the CLI's lowering flags (--no-fused, --no-passes, --disable-pass) and threads reach the engines. */
export interface EngineSetup {
  readonly lowering?: { readonly passes?: boolean; readonly fused?: boolean; readonly disablePass?: readonly string[] | undefined };
  /** A TensorFlow.js engine on the backend (by default: the Trainer, lowered as TensorFlow.js' defaults). */
  readonly tfEngine?: (backend: Exclude<TrainBackendName, "fused">, ir: ModelIR, env: DimEnv, params: ReadonlyMap<string, Tensor>, settings: TrainSettings) => Promise<TrainEngine>;
  /** Added to each fused scan's explanation (how long batches split over threads). */
  readonly fusedNote?: string;
}

/** The model fit() trains: a model IR and its dimensions (api/model.ts's loadModel gives one). */
export interface Trainable { readonly ir: ModelIR; readonly env: DimEnv }

/** Trains `model` on `data`; see FitOptions. */
export function fit(model: Trainable, data: FitData, options: FitOptions): Promise<FitResult> {
  return fitWith(model, data, options, (k) => k);
}

/** fit() with its options named as the caller knows them (the CLI: `--epochs`), and how TensorFlow.js engines are made. */
export async function fitWith(model: Trainable, data: FitData, o: FitOptions, label: (option: string) => string, setup: EngineSetup = {}): Promise<FitResult> {
  const { ir, env } = model;
  const epochs = o.epochs ?? 10, batchSize = o.batchSize ?? 32, lr0 = o.learningRate ?? 0.001, seed = o.seed ?? 0, accumulate = o.accumulate ?? 1, warmup = o.warmup ?? 0, minDelta = o.minDelta ?? 0;
  const bad = (option: string, why: string, v: unknown) => new UsageError(`${label(option)} must be ${why}, not ${String(v)}`);
  for (const [k, v] of [["epochs", epochs], ["batchSize", batchSize], ["accumulate", accumulate]] as const) if (!Number.isInteger(v) || v < 1) throw bad(k, "a whole number ≥ 1", v);
  if (!(lr0 > 0)) throw bad("learningRate", "a positive number", lr0);
  if (o.clipNorm !== undefined && !(o.clipNorm > 0)) throw bad("clipNorm", "a positive number", o.clipNorm);
  if (!(warmup >= 0)) throw bad("warmup", "a number of epochs ≥ 0", warmup);
  if (o.earlyStop !== undefined && !(Number.isInteger(o.earlyStop) && o.earlyStop >= 1)) throw bad("earlyStop", "a whole number of epochs ≥ 1", o.earlyStop);
  if (!(minDelta >= 0)) throw bad("minDelta", "a number ≥ 0", minDelta);
  if (o.weightDecay !== undefined && !(o.weightDecay >= 0 && o.weightDecay * lr0 < 1)) throw bad("weightDecay", `≥ 0 and below 1 / ${label("learningRate")}`, o.weightDecay);
  assertOutput(ir, o.output);
  if (!["crossentropy", "mse", "ctc"].includes(o.loss)) throw bad("loss", "crossentropy, mse or ctc", o.loss);
  if (o.blank !== undefined && o.loss !== "ctc") throw new UsageError(`${label("blank")} is CTC's blank class; it goes with ${label("loss")} ctc`);
  const target = o.loss === "ctc" ? checkedCtc(ir, env, o.output, `${label("loss")} ctc`, { blank: o.blank ?? 0 }, label) : targetKindOf(ir, env, o.output, o.loss);
  const schedule = parseSchedule(o.schedule);
  const specs = modelParamSpecs(ir, env);
  if (typeof data !== "object" || data === null) throw new UsageError("fit() takes the data as {train, validation?, test?}, lists of examples {inputs, target} (loadData gives them)");
  const note = o.note ?? ((t: string) => process.stderr.write(`note: ${t}\n`));
  let { train, validation } = data as { train: readonly Example[]; validation?: readonly Example[] };
  const { test } = data;
  assertExamples(train, "the training split");
  // What is selected (stopping, learning-rate steps, the best epoch) is selected on validation, never on test.
  const selecting = [o.earlyStop !== undefined && label("earlyStop"), schedule.kind === "plateau" && `${label("schedule")} plateau`, o.keepBest && label("keepBest")].filter((x): x is string => Boolean(x));
  if (validation !== undefined && o.validationSplit !== undefined) throw new UsageError(`${label("validationSplit")} carves a validation split from the training examples, but the data has one (${Array.isArray(validation) ? validation.length : "?"} examples); leave ${label("validationSplit")} out`);
  if (validation === undefined && o.validationSplit !== undefined) ({ train, validation } = carveValidation(train, o.validationSplit, note, label("validationSplit"), `${label("validationSplit")} ${o.validationSplit}`));
  else if (validation === undefined && selecting.length)
    ({ train, validation } = carveValidation(train, 0.1, note, label("validationSplit"), `${selecting.join(", ")} select${selecting.length > 1 ? "" : "s"} on a validation split and the data has none; ${label("validationSplit")} F chooses how much`));
  if (validation === undefined && test === undefined) throw new UsageError("fit() needs a validation split (or a test split, to watch) to score every epoch");
  const heldOutSplit = validation !== undefined ? "validation" as const : "test" as const;
  const held = (validation ?? test)!;
  assertExamples(held, `the ${heldOutSplit} split`);
  // Every example against the model and the loss, before anything trains on it.
  checkExamples(ir, env, o.output, target, [{ name: "the training split", examples: train }, { name: `the ${heldOutSplit} split`, examples: held }]);
  const { checkedMetrics, fusedCannotScore, score, taskOf } = await import("./score.js");
  const extra = (o.metrics ?? []).map((m) => m.trim()).filter(Boolean).map((m) => {
    const [output, metric] = m.includes(":") ? m.split(":", 2) as [string, string] : [o.output, m];
    assertOutput(ir, output, `${label("metrics")} ${m}: `);
    // The trained CTC output is scored decoded, as labels (rnnc eval --ctc).
    checkedMetrics(o.loss === "ctc" && output === o.output ? "tokens" : taskOf(ir, output, held.map((e) => e.target)), output, [metric]);
    return { key: output === o.output ? metric : `${output}:${metric}`, output, metric };
  });
  const builtIn = metricNameOf(o.loss);
  const monitor = o.monitor ?? "loss";
  if (monitor !== "loss" && monitor !== builtIn && !extra.some((x) => x.key === monitor))
    throw new UsageError(`${label("monitor")} ${monitor}: monitor loss, ${builtIn} or one of ${label("metrics")} (${extra.map((x) => x.key).join(", ") || "none given"})`);
  const mode = monitor === "loss" ? "min" as const : modeOf(monitor);

  let state: TrainingState = o.resume ?? { epoch: 0, history: { train: [], test: [], metric: [], metricName: builtIn, heldOut: heldOutSplit } };
  const settings: TrainSettings = { output: o.output, loss: o.loss, optimizer: o.optimizer ?? "adam", learningRate: lr0, ...(o.clipNorm !== undefined ? { clipNorm: o.clipNorm } : {}), ...(o.weightDecay ? { weightDecay: o.weightDecay } : {}), ...(o.loss === "ctc" ? { blank: o.blank ?? 0 } : {}) };
  // With dropout, the model trains in its training form (each dropout a product with a mask input); it runs as written.
  const dropout = dropoutTraining(ir, o.output);
  const trainIr = dropout?.ir ?? ir;
  if (o.weights) checkWeights(`model \`${ir.name}\``, specs, o.weights, "the weights given");
  const start = o.weights ?? initParams(specs, seed);
  let runner: EpochRunner;
  /** This process's engine (undefined: PyTorch's), which held-out metrics are scored on where it can. */
  let inProcess: TrainBackendName | undefined;
  if (o.engine === "torch") {
    const setupOf = async () => ({ ir: trainIr, env, settings, probabilities: outputIsProbability(ir, ir.outputs.find((x) => x.name === o.output)!.node), masks: dropout?.masks ?? [], seed, train, held, weights: start, options: o.torch ?? {}, ...(o.explain ? { explain: o.explain } : {}) });
    if ((o.torch?.nodeRank ?? 0) > 0) {
      await (await import("../torch/engine.js")).serveTorchEngine(await setupOf(), o.signal);
      return { weights: new Map(start), state, interrupted: o.signal?.aborted === true, served: true };
    }
    if ((o.backend ?? "auto") !== "auto") throw new UsageError(`${label("backend")} ${o.backend} chooses among this process's engines; with ${label("engine")} torch, PyTorch computes (leave ${label("backend")} out)`);
    const { startTorchEngine } = await import("../torch/engine.js");
    runner = await startTorchEngine(await setupOf());
  } else {
    const choice = chooseTrainBackend(o.backend ?? "auto", () => fusedTrainingUnsupported(trainIr, o.output), setup.lowering ?? {});
    inProcess = choice.backend;
    o.explain?.(`backend: ${choice.backend} (${choice.why})\n${productsExplained()}\n${dropout ? dropoutExplained(dropout) : ""}`);
    let trainer: TrainEngine;
    if (choice.backend === "fused") {
      const why = fusedTrainingUnsupported(trainIr, o.output);
      if (why) throw new UsageError(`${label("backend")} fused cannot train output '${o.output}' of model ${ir.name}: ${why}; ${label("backend")} tfjs-wasm can`);
      trainer = new FusedTrainer(trainIr, env, start, settings);
    } else trainer = await (setup.tfEngine ?? defaultTfEngine)(choice.backend, trainIr, env, start, settings);
    if (dropout) trainer = new DropoutEngine(trainer, dropout, env, seed);
    const explain = o.explain;
    runner = new LocalEpochs(trainer, ir, train, held, explain && ((t) => explain(explainPaths(t.scanPaths(), setup.fusedNote ?? "") + (t.optimizerPath ? `${t.optimizerPath()}\n` : ""))));
  }
  if (o.resume && (o.resume.history.heldOut ?? "test") !== heldOutSplit && o.resume.epoch > 0)
    note(`the checkpoint's ${o.resume.epoch} epoch${o.resume.epoch > 1 ? "s were" : " was"} scored on the ${o.resume.history.heldOut ?? "test"} split; from epoch ${o.resume.epoch + 1} on, the ${heldOutSplit} split is (its history mixes the two)`);
  if (state.optimizer) {
    const restored = await runner.restoreOptimizer(state.optimizer);
    if (!restored) note(`the checkpoint's ${state.optimizer.name} state does not fit ${label("optimizer")} ${settings.optimizer}; it starts afresh`);
  }
  const monitored = (): number[] => (monitor === "loss" ? state.history.test : monitor === builtIn ? state.history.metric : state.history.metrics?.[monitor] ?? []);
  const what = monitor === "loss" ? `the ${heldOutSplit} loss` : `${heldOutSplit} ${monitor}`;
  const stopping = (): string | undefined => {
    if (o.earlyStop === undefined || !shouldStop(monitored(), o.earlyStop, minDelta, mode)) return undefined;
    const b = bestEpoch(monitored(), minDelta, mode);
    return `stopping early: ${what} has not improved by more than ${minDelta} for ${o.earlyStop} epoch${o.earlyStop > 1 ? "s" : ""}; the best was epoch ${b + 1} (${monitored()[b]!.toFixed(4)})`;
  };
  const aborted = () => o.signal?.aborted === true;
  let lr = lr0;
  let stopped = stopping();
  let weights = new Map(start);
  try {
    const firstEpoch = state.epoch + 1;
    const indices = train.map((_, k) => k);
    for (let epoch = firstEpoch; epoch <= epochs && !aborted() && !stopped; epoch++) {
      const started = Date.now();
      const order = shuffled(indices, seed * 1000 + epoch);
      const batches = Math.ceil(order.length / batchSize);
      const plan: EpochPlan = { epoch, accumulate, batches: Array.from({ length: batches }, (_, k) => order.slice(k * batchSize, (k + 1) * batchSize)),
        lrs: Array.from({ length: batches }, (_, k) => learningRate(schedule, lr0, warmup, { epoch, fraction: (k + 1) / batches, epochs, heldOut: state.history.test })) };
      await o.callbacks?.onEpochBegin?.(epoch, batches);
      let sum = 0, count = 0;
      await runner.trainEpoch(plan, async (k, loss, size) => {
        if (!Number.isFinite(loss)) throw new RnncError("RNN0605", `the loss became ${loss} in epoch ${epoch}`, ["the learning rate may be too high"], `lower ${label("learningRate")}, or clip gradients with ${label("clipNorm")} 1`);
        sum += loss * size;
        count += size;
        await o.callbacks?.onBatchEnd?.(k, { epoch, loss, meanLoss: sum / count });
      }, aborted);
      if (aborted()) break;
      lr = plan.lrs[batches - 1]!;
      const { loss: heldOut, metric } = await runner.evaluate(batchSize);
      const trained = await runner.params();
      const scored: Record<string, number[]> = { ...state.history.metrics };
      for (const output of new Set(extra.map((x) => x.output))) {
        const mine = extra.filter((x) => x.output === output);
        // As rnnc eval computes it: on the fused kernels where they can, else on TensorFlow.js (set up if this run has not).
        const engine = (inProcess !== undefined && inProcess !== "fused") || fusedCannotScore(ir, output) ? "tfjs" : "fused";
        if (engine === "tfjs" && (inProcess === undefined || inProcess === "fused")) await (await import("../tfjs/backend.js")).useBackend(chooseTfBackend("auto").backend);
        const r = await score(ir, env, trained, held, output, mine.map((x) => x.metric), { batchSize, engine, ...(o.loss === "ctc" && output === o.output ? { ctc: { blank: o.blank ?? 0, beam: 1 } } : {}) });
        for (const x of mine) scored[x.key] = [...(scored[x.key] ?? []), r.results[x.metric] ?? NaN];
      }
      const lrs = state.history.lr ?? state.history.train.map(() => lr0);
      // Each epoch's seconds, kept across resumes (a checkpoint of an older rnnc has none: then none are kept).
      const secs = (Date.now() - started) / 1000;
      const seconds = state.history.seconds !== undefined || state.epoch === 0 ? { seconds: [...(state.history.seconds ?? []), secs] } : {};
      const next: TrainingState = {
        epoch,
        history: { ...state.history, heldOut: heldOutSplit, train: [...state.history.train, sum / count], test: [...state.history.test, heldOut], metric: [...state.history.metric, metric], lr: [...lrs, lr], ...seconds, ...(extra.length ? { metrics: scored } : {}) },
        optimizer: await runner.optimizerState(),
      };
      // Non-finite numbers end training with the last finite epoch kept (a checkpoint holds finite numbers only).
      const kept = `the checkpoint of ${epoch > 1 ? `epoch ${epoch - 1}` : "no epoch"} is kept`;
      for (const [name, v] of [[`${heldOutSplit} loss`, heldOut], [builtIn, metric], ...extra.map((x) => [x.key, scored[x.key]!.at(-1)!] as const)] as const)
        if (!Number.isFinite(v)) throw new RnncError("RNN0605", `the ${name} became ${v} in epoch ${epoch}; ${kept}`, ["the learning rate may be too high, or the held-out split holds examples the training split does not prepare the model for"], `lower ${label("learningRate")}, or clip gradients with ${label("clipNorm")} 1`);
      const diverged = [...trained].find(([, t]) => t.data.some((v) => !Number.isFinite(v)));
      if (diverged) throw new RnncError("RNN0605", `param ${diverged[0]} holds a non-finite value after epoch ${epoch}; ${kept}`, ["the learning rate may be too high"], `lower ${label("learningRate")}, or clip gradients with ${label("clipNorm")} 1`);
      state = next;
      weights = trained;
      const logs: EpochLogs = { epoch, loss: sum / count, heldOutLoss: heldOut, heldOutSplit, metric, metricName: builtIn, metrics: Object.fromEntries(extra.map((x) => [x.key, scored[x.key]!.at(-1)!])),
        learningRate: lr, seconds: secs, best: bestEpoch(monitored(), minDelta, mode) === epoch - 1 };
      await o.callbacks?.onEpochEnd?.(logs, trained, state);
      stopped = stopping();
    }
  } finally {
    await runner.dispose();
  }
  return { weights, state, interrupted: aborted(), ...(stopped ? { stopped } : {}) };
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const rng = mulberry32(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) { const j = Math.floor(rng() * (i + 1)); [out[i], out[j]] = [out[j]!, out[i]!]; }
  return out;
}

/** TensorFlow.js on the chosen backend, loaded only when it trains. */
const defaultTfEngine: NonNullable<EngineSetup["tfEngine"]> = async (backend, ir, env, params, settings) => {
  const { useBackend } = await import("../tfjs/backend.js");
  const { Trainer } = await import("../tfjs/train.js");
  await useBackend(backend);
  return new Trainer(ir, env, params, settings);
};

/** One line per scan: the layer, the path it took and why. */
function explainPaths(paths: ReadonlyMap<number, ScanPath>, fusedNote: string): string {
  if (!paths.size) return "no scans: nothing to fuse\n";
  return [...paths.values()].map((p) => `${p.kind} of layer \`${p.layer}\`: ${p.fused ? "fused" : "op by op"} (${p.why}${p.fused && !p.oneThread ? fusedNote : ""})\n`
    + (p.loopsInJs?.() ?? []).map((l) => `  ${l}\n`).join("")).join("");
}
