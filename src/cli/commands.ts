// The CLI's commands: parse flags, call the composition root, print results, return an exit code.
import { MAX_TENSOR_ELEMENTS } from "../diagnostics/limits.js";
import { setOwn } from "../runtime/record.js";
import { readSync, realpathSync } from "node:fs";
import { basename, resolve } from "node:path";
import { createCompiler } from "../compiler.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { diagnosticToJson, renderDiagnostics, type RenderOptions } from "../diagnostics/render.js";
import { closestNames } from "../diagnostics/suggest.js";
import { RnncError } from "../diagnostics/errors.js";
import type { OptionValue } from "../elaborate/scope.js";
import { resolveDims } from "../runtime/dims.js";
import { tensorFromJson } from "../runtime/json-tensor.js";
import { runCell } from "../interp/run-cell.js";
import { traceCell, traceModel } from "../interp/trace.js";
import { pickValues, traceJson } from "../api/trace.js";
import { toNested, type Precision, type Tensor } from "../runtime/tensor.js";
import { printCellIR, printModelIR } from "../ir/print.js";
import { cellParamSpecs, checkWeights, initParams, modelParamSpecs, parseWeights, serializeWeights, type ParamSpec } from "../weights/weights.js";
import { runModel, type ModelOutput } from "../interp/run-model.js";
import { ctcDecode, type CtcDecoding } from "../runtime/ctc.js";
import { outputIsProbability } from "../runtime/training.js";
import { checkedCtc } from "../api/data-check.js";
import type { CellIR, ModelIR } from "../ir/ir.js";
import type { DimEnv } from "../runtime/dims.js";
import { nodeHost, writeFileAtomic } from "../node/host.js";
import { assertReplaceable } from "./output-guard.js";

/** A mistake on the command line: one line on stderr, exit 2. */
export { UsageError } from "./usage.js";
import { UsageError } from "./usage.js";
import { chooseRunBackend, productsExplained } from "../api/backend-choice.js";

export const compiler = createCompiler(nodeHost);

/** The same file, for comparing paths: symlinks and `..` resolved where the file exists. */
function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** Refuses an output path that names one of the command's inputs (it would be replaced half-way through). */
export function assertNotInput(out: string, inputs: Record<string, string | undefined>): void {
  for (const [what, p] of Object.entries(inputs)) {
    if (p !== undefined && canonical(p) === canonical(out)) throw new UsageError(`the output '${out}' is the ${what} '${p}'; it would be overwritten — write the output elsewhere`);
  }
}

export function readText(path: string, what: string): string {
  const text = nodeHost.readFile(path);
  if (text === undefined) throw new UsageError(`cannot read ${what} '${path}': no such file, or not readable`);
  return text;
}

export { MAX_DATA_FILE, readData } from "../api/files.js";
import { readData } from "../api/files.js";

/** `A=1,B=2` → map; values parsed by `value`. */
function parsePairs<T>(flag: string, text: string | undefined, value: (v: string, key: string) => T): Map<string, T> {
  const out = new Map<string, T>();
  if (!text) return out;
  for (const part of text.split(",")) {
    const m = /^\s*([\p{L}_][\p{L}\p{N}_']*)\s*=\s*(\S+)\s*$/u.exec(part);
    if (!m) throw new UsageError(`--${flag} expects NAME=VALUE pairs separated by commas, e.g. --${flag} I=4,H=8; got '${part}'`);
    if (out.has(m[1]!)) throw new UsageError(`--${flag} gives ${m[1]} twice (${m[1]}=${String(out.get(m[1]!))} and ${m[1]}=${m[2]}); give each name once`);
    out.set(m[1]!, value(m[2]!, m[1]!));
  }
  return out;
}

export const dimsFlag = (text: string | undefined) => parsePairs("dims", text, (v, k) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--dims ${k}=${v}: a dimension is a positive whole number`);
  if (Number(v) > MAX_TENSOR_ELEMENTS) throw new UsageError(`--dims ${k}=${v}: a dimension is at most ${MAX_TENSOR_ELEMENTS.toLocaleString("en-US")} (the most elements a tensor can hold)`);
  return Number(v);
});
/**
 * The dimension values for a run: `--dims`, and those a weights file records (rnnc writes them); a `--dims` value
 * that disagrees with the file's is an error naming both.
 */
export function dimsGiven(a: { dims?: string | undefined; weights?: string | undefined }, declared: readonly string[]): Map<string, number> {
  const given = dimsFlag(a.dims);
  if (!a.weights) return given;
  let recorded: unknown;
  try {
    recorded = (JSON.parse(readData(a.weights, "weights file")) as { dims?: unknown }).dims;
  } catch {
    return given; // a malformed file is reported where its params are read
  }
  if (typeof recorded !== "object" || recorded === null) return given;
  for (const [k, v] of Object.entries(recorded as Record<string, unknown>)) {
    if (!declared.includes(k) || typeof v !== "number" || !Number.isInteger(v) || v < 1) continue;
    const g = given.get(k);
    if (g !== undefined && g !== v) throw new UsageError(`--dims ${k}=${g} disagrees with the weights file '${a.weights}', which was made with ${k}=${v}; leave ${k} out of --dims or use weights made for ${k}=${g}`);
    given.set(k, v);
  }
  return given;
}

export const optsFlag = (text: string | undefined) => parsePairs<OptionValue>("opt", text, (v) => (Number.isFinite(Number(v)) ? Number(v) : v));

export function checkCommand(files: string[], format: "text" | "json", render: RenderOptions): number {
  const all: Diagnostic[] = [];
  const sources = new Map<string, string>();
  for (const f of files) {
    if (nodeHost.readFile(f) === undefined) throw new UsageError(`cannot read '${f}': no such file, or not readable`);
    const r = compiler.check(f);
    for (const d of r.diagnostics) all.push(d);
    for (const [k, v] of r.sources) sources.set(k, v);
  }
  const errors = all.filter((d) => d.severity === "error").length;
  if (format === "json") {
    process.stdout.write(JSON.stringify({ files, errors, warnings: all.length - errors, diagnostics: all.map((d) => diagnosticToJson(d, sources)) }, null, 2) + "\n");
  } else if (all.length) {
    process.stdout.write(renderDiagnostics(all, sources, render) + "\n");
  } else {
    process.stdout.write(`${files.length === 1 ? basename(files[0]!) : `${files.length} files`}: no problems found\n`);
  }
  return errors ? 1 : 0;
}

export interface CellFlags { file: string; cell?: string | undefined; model?: string | undefined; dims?: string | undefined; opt?: string | undefined }

/** What `run` and `init` work on: a cell, or a model (chosen by flags, or by what the file declares). */
export type Target =
  | { kind: "cell"; ir: CellIR; env: DimEnv; specs: ParamSpec[] }
  | { kind: "model"; ir: ModelIR; env: DimEnv; specs: ParamSpec[] };

export function loadTarget(a: CellFlags): Target {
  readText(a.file, "file");
  if (a.cell && a.model) throw new UsageError("give --cell or --model, not both");
  const wantsModel = a.model !== undefined || (a.cell === undefined && compiler.check(a.file).models.size > 0);
  if (wantsModel) {
    if (a.opt) throw new UsageError("--opt sets options of a cell; a model's layers set their own options");
    const ir = compiler.model(a.file, a.model);
    const env = resolveDims(ir, dimsGiven(a, ir.dims.map((d) => d.name)));
    return { kind: "model", ir, env, specs: modelParamSpecs(ir, env) };
  }
  const ir = compiler.cell(a.file, a.cell, optsFlag(a.opt));
  const env = resolveDims(ir, dimsGiven(a, ir.dims.map((d) => d.name)));
  return { kind: "cell", ir, env, specs: cellParamSpecs(ir, env) };
}

/** A JSON object from a file, or from standard input when `path` is `-`. */
export function readJsonObject(path: string, what: string): Record<string, unknown> {
  const text = path === "-" ? readStdin() : readData(path, what);
  const name = inputName(path);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new RnncError("RNN0605", `${name} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new RnncError("RNN0605", `${name} must hold a JSON object with one key per input`);
  return json as Record<string, unknown>;
}

/** How messages name an input: its path, or "standard input" for `-`. */
const inputName = (path: string): string => (path === "-" ? "standard input" : path);

/** Bytes of standard input read at most: an input file for `run` is small; an endless stream must not fill the memory. */
export const MAX_STDIN = 64 * 1024 * 1024;

/** All of standard input as text, up to MAX_STDIN bytes (a terminal is read until end of input, Ctrl-D). */
function readStdin(): string {
  const chunks: Buffer[] = [];
  let total = 0;
  const chunk = Buffer.alloc(1 << 16);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, chunk, 0, chunk.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); continue; } // a non-blocking pipe with nothing yet
      if (code === "EOF") break;
      throw new UsageError(`cannot read standard input: ${(e as Error).message}`);
    }
    if (n === 0) break;
    total += n;
    if (total > MAX_STDIN) throw new RnncError("RNN0605", `standard input holds more than ${MAX_STDIN / 2 ** 20} MiB`, ["rnnc reads at most that much from standard input; larger inputs are read from a file"], "write the input to a file and give its path with --input");
    chunks.push(Buffer.from(chunk.subarray(0, n)));
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks, total));
  } catch {
    throw new RnncError("RNN0605", "standard input is not UTF-8 text");
  }
}

/** Turns `{"name": nested arrays}` into tensors, checking keys against the declared names. */
export function tensorsOf(obj: Record<string, unknown>, names: readonly string[], source: string, owner: string, reserved: readonly string[], precision: Precision): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (reserved.includes(k)) continue;
    if (!names.includes(k)) {
      const near = closestNames(k, names);
      throw new RnncError("RNN0605", `${source} has a key "${k}", which is not an input of ${owner}`,
        [`its inputs are ${names.join(", ") || "none"}${reserved.length ? `; ${reserved.map((r) => `"${r}"`).join(" and ")} ${reserved.length > 1 ? "are" : "is"} reserved` : ""}`], near.length ? `did you mean "${near[0]}"?` : undefined);
    }
    out[k] = tensorFromJson(v, `input "${k}"`, precision);
  }
  return out;
}

/** Per-sequence lengths from "lengths" ({input: [n, …]}) or "masks" ({input: [[1, 1, 0], …]}, ones then zeros). */
export function lengthsOf(obj: Record<string, unknown>): Record<string, number[]> | undefined {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  const out: Record<string, number[]> = {};
  const lengths = obj["lengths"];
  if (lengths !== undefined) {
    if (!isObject(lengths)) throw new RnncError("RNN0605", `"lengths" must be an object: {"input name": [one length per example]}`);
    for (const [k, v] of Object.entries(lengths)) {
      if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x))) throw new RnncError("RNN0605", `"lengths" of "${k}" must be a list of whole numbers, one per example`);
      out[k] = v as number[];
    }
  }
  const masks = obj["masks"];
  if (masks !== undefined) {
    if (!isObject(masks)) throw new RnncError("RNN0605", `"masks" must be an object: {"input name": [[1, 1, 0], …]}`);
    for (const [k, v] of Object.entries(masks)) {
      if (k in out) throw new RnncError("RNN0605", `"${k}" has both lengths and a mask; give one`);
      if (!Array.isArray(v)) throw new RnncError("RNN0605", `the mask of "${k}" must be a list of 0/1 rows, one per example`);
      out[k] = v.map((row: unknown, b: number) => {
        const r = Array.isArray(row) ? row : [];
        const n = r.findIndex((x) => x !== 1);
        const len = n < 0 ? r.length : n;
        if (!r.length || !r.every((x, i) => (i < len ? x === 1 : x === 0)))
          throw new RnncError("RNN0605", `the mask of "${k}" for example ${b} is not a run of 1s followed by 0s`, ["padding goes at the end of each sequence"]);
        return len;
      });
    }
  }
  return Object.keys(out).length ? out : undefined;
}

export type BackendName = "interp" | "fused" | "tfjs-cpu" | "tfjs-wasm";

/** The tfjs runner, loaded only when asked for (tfjs is large and the interpreter needs none of it). */
async function tfjsRunner(backend: BackendName, precision: Precision) {
  if (backend === "interp" || backend === "fused") return undefined;
  if (precision === "f64") throw new UsageError("--precision f64 is for the interpreter; tfjs computes in float32");
  const { useBackend } = await import("../tfjs/backend.js");
  const run = await import("../tfjs/run.js");
  await useBackend(backend);
  (await import("../node/scan-helper.js")).startScanHelper(); // fused scans split batches over two cores (RNNC_THREADS=1: one)
  return run;
}

/** Lowering options from --no-passes and --disable-pass, checked against the pass table. */
export async function loweringFlags(backend: BackendName, a: { passes?: boolean; disablePass?: string[] | undefined; fused?: boolean }) {
  const chosen = await passFlags(backend, a);
  return a.fused === false ? { ...chosen, fused: false } : chosen;
}

async function passFlags(backend: BackendName, a: { passes?: boolean; disablePass?: string[] | undefined }) {
  const { passes } = await import("../passes/pipeline.js");
  const names = passes.map((p) => p.name);
  for (const d of a.disablePass ?? [])
    if (!names.includes(d)) throw new UsageError(`--disable-pass ${d}: no such pass (passes: ${names.join(", ")})`);
  if (a.passes === false) return { optimize: false };
  const { loweringDefaults } = await import("../tfjs/backend.js");
  const defaults = loweringDefaults(backend === "tfjs-wasm" ? "tfjs-wasm" : "tfjs-cpu");
  return a.disablePass?.length ? { optimize: true, disabled: new Set(a.disablePass) } : defaults;
}

export async function runCommand(a: CellFlags & { input: string; weights?: string | undefined; seed: number; precision: Precision; steps?: number | undefined; backend: BackendName | "auto"; passes?: boolean; disablePass?: string[] | undefined; explain?: boolean; allowNonfinite?: boolean; ctc?: string | undefined; blank?: number | undefined; beam?: number | undefined; trace?: string | undefined }): Promise<number> {
  const target = loadTarget(a);
  if (a.trace !== undefined && a.backend !== "auto" && a.backend !== "interp") throw new UsageError(`--trace records values on the reference interpreter; --backend ${a.backend} cannot be traced`);
  const picked = a.trace === undefined ? undefined : pickValues(target, a.trace);
  if (a.ctc === undefined && (a.blank !== undefined || a.beam !== undefined)) throw new UsageError(`${a.blank !== undefined ? "--blank" : "--beam"} decodes a CTC output; name it with --ctc OUTPUT`);
  if (a.ctc !== undefined && target.kind !== "model") throw new UsageError("--ctc decodes an output of a model; this is a cell");
  if (a.backend === "fused" && target.kind === "cell") throw new UsageError("--backend fused runs models; run a cell with interp, tfjs-cpu or tfjs-wasm");
  if (a.backend === "fused" && a.precision === "f64") throw new UsageError("--precision f64 is for the interpreter; the fused kernels compute in float32");
  // The fused kernels are loaded only for a model (a cell, or `check`, needs none of them).
  const fused = target.kind === "model" ? await import("../fused/run-model.js") : undefined;
  const choice = picked ? { backend: "interp" as const, why: "--trace records values on the reference interpreter" } : chooseRunBackend(a.backend, target.kind === "model" ? { kind: "model", fusedCannot: () => fused!.batchedUnsupported(target.ir) } : { kind: "cell" }, a.precision);
  if (a.explain) process.stderr.write(`backend: ${choice.backend} (${choice.why})\n${choice.backend === "interp" ? "" : `${productsExplained()}\n`}`);
  const backend = choice.backend;
  if (!Number.isInteger(a.seed)) throw new UsageError(`--seed must be a whole number, not ${a.seed}`);
  const owner = `${target.kind} \`${target.ir.name}\``;
  let params: Map<string, Tensor>;
  if (a.weights) {
    params = parseWeights(readData(a.weights, "weights file"), a.weights, a.precision, { allowNonfinite: a.allowNonfinite === true });
    checkWeights(owner, target.specs, params, a.weights);
  } else {
    params = initParams(target.specs, a.seed, a.precision);
  }
  const obj = readJsonObject(a.input, "input file");
  const dims = Object.fromEntries(target.env);
  if (target.kind === "model") {
    const ir = target.ir;
    const inputs = tensorsOf(obj, ir.inputs.map((i) => i.name), inputName(a.input), owner, ["lengths", "masks"], a.precision);
    const lengths = lengthsOf(obj);
    const tfjs = await tfjsRunner(backend, a.precision);
    const modelInput = { inputs, ...(lengths ? { lengths } : {}), seed: a.seed };
    if (backend === "fused") {
      const problem = fused!.batchedUnsupported(ir);
      if (problem) throw new UsageError(`--backend fused cannot run model \`${ir.name}\`: ${problem}`);
    }
    const traced = picked ? traceModel(ir, target.env, params, modelInput, a.precision, picked) : undefined;
    const r = traced ? traced.outputs : tfjs ? tfjs.runModelTf(ir, target.env, params, modelInput, await loweringFlags(backend, a))
      : backend === "fused" ? new fused!.BatchedModelRunner(ir, target.env, params).run(modelInput) : runModel(ir, target.env, params, modelInput, a.precision);
    const outputs: Record<string, unknown> = {};
    const outLengths: Record<string, number[]> = {};
    for (const [k, o] of Object.entries(r)) {
      setOwn(outputs, k, o.states ? Object.fromEntries(Object.entries(o.states).map(([n, t]) => [n, toNested(t)])) : toNested(o.tensor!));
      if (o.lengths) setOwn(outLengths, k, o.lengths);
    }
    const decoded = a.ctc === undefined ? undefined : ctcLabels(ir, target.env, r, a.ctc, { blank: a.blank ?? 0, beam: a.beam ?? 1 });
    writeResult({ model: ir.name, dims, outputs, ...(Object.keys(outLengths).length ? { lengths: outLengths } : {}), ...(decoded ? { decoded: { [a.ctc!]: decoded } } : {}), ...(traced ? { trace: traceJson(traced.uses) } : {}) });
    return 0;
  }
  const ir = target.ir;
  const inputs = tensorsOf(obj, ir.inputs.map((i) => i.name), inputName(a.input), owner, ["initial_states"], a.precision);
  const initialStates: Record<string, Tensor> = {};
  const init = obj["initial_states"];
  if (init !== undefined) {
    if (typeof init !== "object" || init === null || Array.isArray(init)) throw new RnncError("RNN0605", `"initial_states" must be an object keyed by state name`);
    for (const [k, v] of Object.entries(init)) initialStates[k] = tensorFromJson(v, `initial state "${k}"`, a.precision);
  }
  const tfjs = await tfjsRunner(backend, a.precision);
  const cellInput = { inputs, initialStates, ...(a.steps !== undefined ? { steps: a.steps } : {}) };
  const traced = picked ? traceCell(ir, target.env, params, cellInput, a.precision, picked) : undefined;
  const r = traced ? traced.result : tfjs ? tfjs.runCellTf(ir, target.env, params, cellInput, await loweringFlags(backend, a)) : runCell(ir, target.env, params, cellInput, a.precision);
  const out = {
    cell: ir.name,
    dims,
    outputs: Object.fromEntries(Object.entries(r.outputs).map(([k, t]) => [k, toNested(t)])),
    states: Object.fromEntries(Object.entries(r.states).map(([k, t]) => [k, toNested(t)])),
    ...(traced ? { trace: traceJson(traced.uses) } : {}),
  };
  writeResult(out);
  return 0;
}

/**
 * Prints a run's result as JSON. JSON has no NaN or Infinity: those values are written as the strings "NaN",
 * "Infinity" and "-Infinity" (src/cli/README.md "Limits"), and a warning on stderr says how many there are.
 */
function writeResult(result: object): void {
  let nonFinite = 0;
  const text = JSON.stringify(result, (_k, v: unknown) => {
    if (typeof v !== "number" || Number.isFinite(v)) return v;
    nonFinite++;
    return String(v);
  });
  if (nonFinite) process.stderr.write(`warning: ${nonFinite} output value${nonFinite > 1 ? "s are" : " is"} not finite (written as the strings "NaN", "Infinity" or "-Infinity")\n`);
  process.stdout.write(text + "\n");
}

export function initCommand(a: CellFlags & { seed: number; out: string }): number {
  assertNotInput(a.out, { spec: a.file });
  assertReplaceable(a.out, "weights");
  const t = loadTarget(a);
  writeFileAtomic(a.out, serializeWeights(t.ir.name, t.env, t.specs, initParams(t.specs, a.seed)));
  process.stderr.write(`wrote ${t.specs.length} params of ${t.ir.name} to ${a.out}\n`);
  return 0;
}

export function irCommand(a: { file: string; cell?: string | undefined; opt?: string | undefined }, render: RenderOptions): number {
  readText(a.file, "file");
  if (a.cell || a.opt) {
    process.stdout.write(printCellIR(compiler.cell(a.file, a.cell, optsFlag(a.opt))) + "\n");
    return 0;
  }
  const r = compiler.check(a.file);
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) {
    process.stderr.write(renderDiagnostics(errors, r.sources, render) + "\n");
    return 1;
  }
  process.stdout.write([...[...r.cells.values()].map((c) => printCellIR(c.ir)), ...[...r.models.values()].map((m) => printModelIR(m.ir))].join("\n\n") + "\n");
  return 0;
}

/** `rnnc run --ctc OUTPUT`: each example's labels decoded from a CTC output (greedy, or prefix beam search). */
function ctcLabels(ir: ModelIR, env: DimEnv, r: Record<string, ModelOutput>, output: string, d: CtcDecoding): number[][] {
  const kind = checkedCtc(ir, env, output, `--ctc ${output}`, d, (k) => `--${k}`);
  const o = r[output]!, t = o.tensor!, B = t.shape[0]!, per = t.data.length / Math.max(B, 1);
  const probabilities = outputIsProbability(ir, ir.outputs.find((x) => x.name === output)!.node);
  return Array.from({ length: B }, (_, b) => ctcDecode(t.data.subarray(b * per, (b + 1) * per), o.lengths?.[b] ?? per / kind.classes, kind.classes, probabilities, d));
}
