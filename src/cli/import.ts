// `rnnc import SOURCE [--spec FILE.rnn] -o W.json`: trained weights from PyTorch, tfjs-layers or ONNX as rnnc-weights JSON (and, without a spec, the one the source's wiring gives).
import { existsSync, readFileSync } from "node:fs";
import { createCompiler } from "../compiler.js";
import { nodeHost, stdlibFiles, writeFileAtomic } from "../node/host.js";
import { memoryHost } from "../resolve/host.js";
import { specFromOnnx } from "../weights/onnx-spec.js";
import { specFromTfjs } from "../weights/tfjs-spec.js";
import { formatText } from "../format/format.js";
import { resolveDims } from "../runtime/dims.js";
import { readSafetensors } from "../weights/safetensors.js";
import { readTfjsLayers } from "../weights/tfjs-import.js";
import { importOnnx } from "../weights/onnx-import.js";
import { RnncError } from "../diagnostics/errors.js";
import { dirname } from "node:path";
import { readConfined } from "../node/confined.js";
import { assertReplaceable } from "./output-guard.js";
import type { ReadOptions } from "../weights/bounds.js";
import { importTorch, type Mapping, type Placed } from "../weights/torch-import.js";
import { modelParamSpecs, serializeWeights, type ParamSpec } from "../weights/weights.js";
import type { DerivedSpec } from "../weights/spec-writer.js";
import type { Tensor } from "../runtime/tensor.js";
import { assertNotInput, compiler, dimsGiven, readText, UsageError } from "./commands.js";

export interface ImportFlags { source: string; spec?: string | undefined; model?: string | undefined; dims?: string | undefined; map?: string | undefined; out: string; allowNonfinite?: boolean | undefined; json?: boolean | undefined }

export async function importCommand(a: ImportFlags): Promise<number> {
  if (a.spec !== undefined) readText(a.spec, "spec");
  const tfjs = a.source.endsWith(".json"), onnx = a.source.endsWith(".onnx");
  if (!a.source.endsWith(".safetensors") && !tfjs && !onnx) throw new UsageError(`'${a.source}': rnnc imports PyTorch state dicts (.safetensors), tfjs-layers models (model.json) and ONNX models (.onnx)`);
  if (a.spec === undefined && !onnx && !tfjs) throw new UsageError(`'${a.source}' does not describe its model's wiring: give the spec its weights are for with --spec (a spec is written for ONNX and tfjs-layers models)`);
  if (!a.out.endsWith(".json")) throw new UsageError(`-o '${a.out}': the weights file is JSON and its name ends in .json`);
  const specOut = a.spec === undefined ? a.out.replace(/\.json$/, ".rnn") : undefined;
  assertNotInput(a.out, { ...(a.spec ? { spec: a.spec } : {}), source: a.source });
  assertReplaceable(a.out, "weights");
  if (specOut) {
    assertNotInput(specOut, { source: a.source });
    if (existsSync(specOut)) throw new UsageError(`${specOut} exists: rnnc import writes the spec it derives there and does not replace a file; remove it, or give the spec with --spec`);
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(a.source);
  } catch {
    throw new UsageError(`cannot read source '${a.source}': no such file, or not readable`);
  }
  const names = new Map<string, string>();
  for (const pair of (a.map ?? "").split(",").filter(Boolean)) {
    const m = /^\s*([^=\s]+)\s*=\s*([^=\s]+)\s*$/.exec(pair);
    if (!m) throw new UsageError(`--map expects TORCH_MODULE=LAYER pairs separated by commas, e.g. --map lstm.l0=rnn,fc=head; got '${pair}'`);
    names.set(m[1]!, m[2]!);
  }
  const opts = { allowNonfinite: a.allowNonfinite === true };
  const source = onnx ? await onnxSource(bytes, a.source, opts) : tensorSource(bytes, a.source, tfjs, opts);
  // Without --spec: the one the source's wiring gives, its layers named so that each takes its own weights.
  const derived = specOut ? formatted(source.spec(), specOut) : undefined;
  const ir = derived ? derivedModel(specOut!, derived.text, derived.model) : compiler.model(a.spec!, a.model);
  const env = resolveDims(ir, dimsGiven(a, ir.dims.map((d) => d.name)));
  const specs = modelParamSpecs(ir, env);
  // Layers in data-flow order (the order the model first applies them), so that a stacked module's layers fill them in turn.
  const layerOrder = [...new Set(ir.nodes.flatMap((n) => (n.attrs.layer !== undefined ? [n.attrs.layer] : [])))];
  // Layers scanned in reverse (a bidirectional's backward one too) take a source's reverse directions.
  const reversed = new Set(ir.nodes.flatMap((n) => (n.attrs.reverse && n.attrs.layer !== undefined ? [n.attrs.layer] : [])));
  const table: Placed[] = [];
  const weights = source.weights(specs, { names, ...(derived ? { wired: derived.names } : {}), layerOrder, reversed, placed: (p) => table.push(p) });
  // Which module went where, always (a wrong pairing of same-shaped layers is otherwise silent).
  if (table.length) {
    const w = Math.max(...table.map((p) => p.module.length));
    process.stderr.write(`${table.map((p) => `  ${p.module.padEnd(w)}  →  ${p.layer}  (${p.kind}; ${p.how})`).join("\n")}\n`);
  }
  writeFileAtomic(a.out, serializeWeights(ir.name, env, specs, weights, undefined, opts));
  if (derived) writeFileAtomic(specOut!, derived.text);
  process.stderr.write(`wrote ${specs.length} params of ${ir.name} from ${a.source} to ${a.out}${derived ? `, and the spec derived from it to ${specOut}` : ""}\n`);
  // The mapping as data, for scripts that check which module went where.
  if (a.json) process.stdout.write(`${JSON.stringify({ model: ir.name, weights: a.out, ...(derived ? { spec: specOut } : {}), params: specs.length, mapping: table }, null, 2)}\n`);
  return 0;
}

/** A source of weights: the spec its wiring gives, and the params of a spec's model from it. */
interface Source {
  spec(): DerivedSpec;
  weights(specs: readonly ParamSpec[], mapping: Mapping): Map<string, Tensor>;
}

async function onnxSource(bytes: Uint8Array, path: string, opts: ReadOptions): Promise<Source> {
  const { decodeModel } = await import("../emit/onnx/proto.js");
  let model: Record<string, unknown>;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    throw new RnncError("RNN0604", `${path} is not an ONNX model: ${(e as Error).message}`);
  }
  return { spec: () => specFromOnnx(model, path), weights: (specs, mapping) => importOnnx(model, specs, path, mapping, opts) };
}

/** A tfjs-layers model.json (with its weight files beside it) or a PyTorch state dict (which has no wiring). */
function tensorSource(bytes: Uint8Array, path: string, tfjs: boolean, opts: ReadOptions): Source {
  const text = tfjs ? new TextDecoder().decode(bytes) : "";
  const tensors = tfjs ? readTfjsLayers(text, (p) => readConfined(dirname(path), p, path), path, opts) : readSafetensors(bytes, path, opts);
  return {
    spec: () => specFromTfjs(text, tensors, path),
    weights: (specs, mapping) => importTorch(tensors, specs, path, { noun: tfjs ? "Keras layer" : "PyTorch module", ...mapping }),
  };
}

/** A derived spec as `rnnc fmt` writes it. */
function formatted<S extends { text: string }>(spec: S, path: string): S {
  const f = formatText(spec.text, path);
  if (!f.text) throw new Error(`internal: the spec derived for ${path} does not parse: ${f.diagnostics.map((d) => d.message).join("; ")}`);
  return { ...spec, text: f.text };
}

/** The model of a spec rnnc wrote, compiled from its text (it is written to disk only once the weights are). */
function derivedModel(path: string, text: string, model: string) {
  const std = new Map(stdlibFiles().map((f) => [f, nodeHost.readFile(f)!]));
  return createCompiler(memoryHost(new Map([[path, text], ...std]), [...std.keys()])).model(path, model);
}
