// A training data module and its examples as batches: shared by `rnnc train` and `rnnc eval`.
import { maxOf } from "../diagnostics/extremes.js";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { RnncError } from "../diagnostics/errors.js";
import type { ModelIR } from "../ir/ir.js";
import { tensorFromJson } from "../runtime/json-tensor.js";
import { UsageError } from "../diagnostics/errors.js";
import { readData } from "./files.js";

export interface Example { inputs: Record<string, unknown>; target: unknown }

/** Pads sequence inputs to the batch's longest and records lengths; the model says which inputs are sequences. */
export function batchOf(ir: ModelIR, examples: readonly Example[]) {
  const inputs: Record<string, ReturnType<typeof tensorFromJson>> = {};
  const lengths: Record<string, number[]> = {};
  for (const inp of ir.inputs) {
    const values = examples.map((e) => e.inputs[inp.name]);
    if (values.some((v) => v === undefined)) throw new RnncError("RNN0605", `the data has no value for input \`${inp.name}\` in some examples`);
    if (inp.seq) {
      const seqs = values as unknown[][];
      const T = maxOf(seqs.map((s) => s.length));
      const pad = (s: unknown[]) => [...s, ...Array.from({ length: T - s.length }, () => (Array.isArray(s[0]) ? (s[0] as unknown[]).map(() => 0) : 0))];
      inputs[inp.name] = tensorFromJson(seqs.map(pad), `input "${inp.name}"`, "f32");
      lengths[inp.name] = seqs.map((s) => s.length);
    } else inputs[inp.name] = tensorFromJson(values, `input "${inp.name}"`, "f32");
  }
  return { inputs, lengths, targets: examples.map((e) => e.target) };
}

/** The index of the first element that is not an example {inputs, target}, or -1. */
export const notAnExample = (list: readonly unknown[]): number =>
  list.findIndex((e) => typeof e !== "object" || e === null || typeof (e as Example).inputs !== "object" || (e as Example).inputs === null || !("target" in (e as object)));

/** Examples a program hands to fit() or evaluate(): a non-empty list of {inputs, target} (a coded error naming the first that is not). */
export function assertExamples(list: unknown, what: string): void {
  if (!Array.isArray(list) || !list.length) throw new RnncError("RNN0605", `${what}: ${Array.isArray(list) ? "no examples" : "not a list of examples"}`, ["an example is {inputs: {name: nested arrays}, target}"]);
  const k = notAnExample(list);
  if (k >= 0) throw new RnncError("RNN0605", `${what}: example ${k} of ${list.length} is not {inputs, target}`, ["an example is {inputs: {name: nested arrays}, target}"]);
}

/**
 * A data module: load(options) gives the splits (train and test, and a validation split that training selects epochs,
 * learning-rate steps and early stopping on); it may export baseline(example), a prediction to compare with.
 */
export interface DataModule {
  load?: (o: object) => { train: Example[]; validation?: Example[]; test: Example[] };
  baseline?: (e: Example) => unknown;
}

/** Where a data module is and how to load it. */
export interface DataSource {
  /** A data module (.mjs/.js: `load(options)` gives {train, validation?, test}), a .json file (the same, or one list) or a .jsonl file. */
  readonly data: string;
  /** The options its load() is given (the CLI's `--data-opt KEY=VALUE,…`). */
  readonly options?: Readonly<Record<string, unknown>> | undefined;
  /** The first `limit` training examples and held-out ones in proportion (a tenth of the examples in all). */
  readonly limit?: number | undefined;
  /** Hears what was decided for the user (a split held out, examples cut); the CLI prints it as a note. */
  readonly note?: ((text: string) => void) | undefined;
  /** Carves a validation split from the end of the training examples (this fraction of them) when the data has none. */
  readonly validationSplit?: number | undefined;
  /** How the caller names `validationSplit` in messages (the CLI: --validation-split). */
  readonly validationSplitName?: string | undefined;
}

/** The splits of a data set: validation is what training selects on; test is what results are reported on. */
export interface Splits { train: Example[]; validation?: Example[]; test: Example[] }

/**
 * The last `fraction` of the training examples (at least one, and at least one left to train on) as the validation
 * split, as Keras' validation_split takes it: deterministic, so `rnnc eval --split validation` with the same fraction
 * scores the same examples. `why` ends the note that says so.
 */
export function carveValidation(train: readonly Example[], fraction: number, note: (text: string) => void, name: string, why: string): { train: Example[]; validation: Example[] } {
  if (!(typeof fraction === "number" && fraction > 0 && fraction < 1)) throw new UsageError(`${name} must be a fraction of the training examples between 0 and 1 (e.g. 0.1), not ${String(fraction)}`);
  const n = Math.max(1, Math.round(train.length * fraction));
  if (train.length - n < 1) throw new RnncError("RNN0605", `${name} ${fraction}: the data has ${train.length} training example${train.length === 1 ? "" : "s"}, too few to hold ${n} out and train on the rest`);
  note(`the last ${n} of ${train.length} training examples are the validation split (${why})`);
  return { train: train.slice(0, train.length - n), validation: train.slice(train.length - n) };
}

/** The examples of a data module (`limit` N: the first N training examples and N/9 of each held-out split). */
export async function loadData(a: DataSource): Promise<Splits & { module: DataModule }> {
  const note = a.note ?? ((text: string) => process.stderr.write(`note: ${text}\n`));
  const dataPath = resolve(a.data);
  if (!existsSync(dataPath)) throw new UsageError(`cannot read data module '${a.data}': no such file`);
  const failed = (what: string, e: unknown) => new RnncError("RNN0610", `data module '${a.data}' ${what}: ${e instanceof Error ? `${e.name === "Error" ? "" : `${e.name}: `}${e.message}` : String(e)}`, [
    "a data module is an ES module whose load(options) returns (or resolves to) {train, validation?, test}, lists of examples {inputs, target}; or a .json file holding them (or one list), or a .jsonl file of one example per line (\"split\": \"validation\" or \"test\" marks held-out ones)",
  ], /\.jsonl?$/.test(a.data) ? undefined : "run it alone (node -e \"import('./data.mjs').then((m) => m.load({}))\") to see where it fails");
  let data: DataModule;
  let given: unknown;
  if (/\.jsonl?$/.test(a.data)) {
    // Examples as data: a JSON file ({train, test}, or one list of training examples) or JSON Lines.
    data = {};
    const text = readData(a.data, "data file");
    try {
      given = a.data.endsWith(".jsonl") ? jsonLines(text) : JSON.parse(text);
    } catch (e) {
      throw failed("is not valid JSON", e);
    }
    if (Array.isArray(given)) given = { train: given };
  } else {
    try {
      data = await import(pathToFileURL(dataPath).href) as DataModule;
    } catch (e) {
      throw failed("cannot be loaded", e);
    }
    if (typeof data.load !== "function") throw new UsageError(`data module '${a.data}' exports no load() function`);
    try {
      given = await data.load({ ...a.options });
    } catch (e) {
      throw failed("load() threw", e);
    }
  }
  const split = (name: "train" | "validation" | "test"): Example[] => {
    const list = (given as Record<string, unknown> | null)?.[name];
    if (!Array.isArray(list)) throw failed(`gave no "${name}" list`, `it gave ${given === null || typeof given !== "object" ? String(given) : `an object with ${Object.keys(given).map((k) => `"${k}"`).join(", ") || "no keys"}`}`);
    const k = notAnExample(list);
    if (k >= 0) throw failed(`gave a "${name}" example that is not {inputs, target}`, `example ${k} of ${list.length}`);
    return list as Example[];
  };
  let train = split("train");
  let validation = (given as Record<string, unknown>)["validation"] === undefined ? undefined : split("validation");
  let test: Example[];
  if ((given as Record<string, unknown>)["test"] === undefined) {
    // No held-out split given: the last tenth of the training examples are held out (as Keras' validation_split does).
    const n = Math.max(1, Math.floor(train.length / 10));
    if (train.length < 2) throw new RnncError("RNN0605", `data module '${a.data}' gave ${train.length} training example${train.length === 1 ? "" : "s"} and no test split; at least two are needed (one is held out)`);
    test = train.slice(train.length - n);
    train = train.slice(0, train.length - n);
    note(`${a.data} gives no test split; its last ${n} of ${train.length + n} examples are held out`);
  } else test = split("test");
  const splitName = a.validationSplitName ?? "validationSplit";
  if (a.validationSplit !== undefined) {
    if (validation) throw new UsageError(`${splitName} carves a validation split from the training examples, but ${a.data} gives one (${validation.length} examples); leave ${splitName} out`);
    ({ train, validation } = carveValidation(train, a.validationSplit, note, splitName, `${splitName} ${a.validationSplit}`));
  }
  if (a.limit !== undefined) {
    // --limit N: the first N training examples, and held-out ones in proportion (a tenth of the examples in all).
    const held = Math.max(1, Math.ceil(a.limit / 9));
    if (train.length > a.limit || test.length > held || (validation?.length ?? 0) > held)
      note(`--limit ${a.limit}: the first ${Math.min(a.limit, train.length)} of ${train.length} training examples${validation ? `, ${Math.min(held, validation.length)} of ${validation.length} validation ones` : ""} and ${Math.min(held, test.length)} of ${test.length} test ones`);
    train = train.slice(0, a.limit);
    validation = validation?.slice(0, held);
    test = test.slice(0, held);
  }
  if (!train.length || !test.length || validation?.length === 0) throw new RnncError("RNN0605", `data module '${a.data}' gave ${train.length} training${validation ? `, ${validation.length} validation` : ""} and ${test.length} test examples; ${validation ? "each" : "both"} must be non-empty`);
  return { train, ...(validation ? { validation } : {}), test, module: data };
}

/** JSON Lines: one example per line (blank lines skipped); `"split": "validation"` or `"test"` puts one in that held-out split. */
function jsonLines(text: string): { train: unknown[]; validation?: unknown[]; test?: unknown[] } {
  const train: unknown[] = [], validation: unknown[] = [], test: unknown[] = [];
  text.split("\n").forEach((line, k) => {
    if (!line.trim()) return;
    let e: unknown;
    try {
      e = JSON.parse(line);
    } catch (err) {
      throw new Error(`line ${k + 1}: ${(err as Error).message}`);
    }
    const split = typeof e === "object" && e !== null ? (e as { split?: unknown }).split : undefined;
    (split === "test" ? test : split === "validation" ? validation : train).push(e);
  });
  return { train, ...(validation.length ? { validation } : {}), ...(test.length ? { test } : {}) };
}
