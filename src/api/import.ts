// Trained weights from PyTorch (safetensors), tfjs-layers (model.json) or ONNX onto a model: its own spec's, or the one
// the source's wiring gives (ONNX and tfjs-layers); every unit's destination reported (`rnnc import` is a thin layer over it).
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { createCompiler } from "../compiler.js";
import { RnncError, UsageError } from "../diagnostics/errors.js";
import { formatText } from "../format/format.js";
import type { ModelIR } from "../ir/ir.js";
import { readConfined } from "../node/confined.js";
import { nodeHost, stdlibFiles } from "../node/host.js";
import { memoryHost } from "../resolve/host.js";
import { resolveDims, type DimEnv } from "../runtime/dims.js";
import type { Tensor } from "../runtime/tensor.js";
import type { ReadOptions } from "../weights/bounds.js";
import { importOnnx } from "../weights/onnx-import.js";
import { specFromOnnx } from "../weights/onnx-spec.js";
import { readSafetensors, safetensorsMetadata } from "../weights/safetensors.js";
import type { DerivedSpec } from "../weights/spec-writer.js";
import { specFromTfjs } from "../weights/tfjs-spec.js";
import { readTfjsLayers } from "../weights/tfjs-import.js";
import { importTorch, type Mapping, type Placed } from "../weights/torch-import.js";
import { checkWeights, modelParamSpecs, type ParamSpec } from "../weights/weights.js";

export type { Placed } from "../weights/torch-import.js";

/** A model with its dims settled (api/model.ts's Model is one). */
interface Target { readonly ir: ModelIR; readonly env: DimEnv }

export interface ImportOptions {
  /** The model the weights are for (or a function giving it, called once the source is read); without it, the spec the source's wiring gives (ONNX, tfjs-layers). */
  readonly model?: Target | (() => Target);
  /** Source unit → layer, e.g. `{"lstm.l0": "rnn", "fc": "head"}` (the CLI's --map). */
  readonly map?: Readonly<Record<string, string>>;
  /** The path the derived spec is meant for (it names the file in its messages); `imported.rnn` by default. */
  readonly specPath?: string;
  /** Dimension values for a given model's dims that the source does not fix. */
  readonly dims?: ReadonlyMap<string, number>;
  readonly allowNonfinite?: boolean;
}

export interface Imported {
  readonly ir: ModelIR;
  readonly env: DimEnv;
  readonly weights: Map<string, Tensor>;
  /** Which source unit went to which layer, and why. */
  readonly mapping: readonly Placed[];
  /** The spec derived from the source's wiring (formatted), when no model was given. */
  readonly spec?: string;
}

/** A source of weights: the spec its wiring gives, and the params of a spec's model from it. */
interface Source {
  spec(): DerivedSpec;
  weights(specs: readonly ParamSpec[], mapping: Mapping): Map<string, Tensor>;
}

/** The weights of `path` (.safetensors, .onnx or a tfjs-layers model.json) for a model. */
export async function importWeights(path: string, o: ImportOptions = {}): Promise<Imported> {
  const tfjs = path.endsWith(".json"), onnx = path.endsWith(".onnx");
  if (!path.endsWith(".safetensors") && !tfjs && !onnx) throw new UsageError(`'${path}': rnnc imports PyTorch state dicts (.safetensors), tfjs-layers models (model.json) and ONNX models (.onnx)`);
  if (!o.model && !onnx && !tfjs) throw new UsageError(`'${path}' does not describe its model's wiring: give the spec its weights are for (a spec is written for ONNX and tfjs-layers models)`);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new UsageError(`cannot read source '${path}': no such file, or not readable`);
  }
  const opts = { allowNonfinite: o.allowNonfinite === true };
  const source = onnx ? await onnxSource(bytes, path, opts) : tensorSource(bytes, path, tfjs, opts);
  const given = typeof o.model === "function" ? o.model() : o.model;
  // Without a model: the spec the source's wiring gives, its layers named so that each takes its own weights.
  const specPath = o.specPath ?? "imported.rnn";
  const derived = given ? undefined : formatted(source.spec(), specPath);
  const ir = given?.ir ?? derivedModel(specPath, derived!.text, derived!.model);
  const env = given?.env ?? resolveDims(ir, o.dims ?? new Map());
  const specs = modelParamSpecs(ir, env);
  // Layers in data-flow order (the order the model first applies them), so that a stacked module's layers fill them in turn.
  const layerOrder = [...new Set(ir.nodes.flatMap((n) => (n.attrs.layer !== undefined ? [n.attrs.layer] : [])))];
  // Layers scanned in reverse (a bidirectional's backward one too) take a source's reverse directions.
  const reversed = new Set(ir.nodes.flatMap((n) => (n.attrs.reverse && n.attrs.layer !== undefined ? [n.attrs.layer] : [])));
  const mapping: Placed[] = [];
  const names = new Map(Object.entries(o.map ?? {}));
  const weights = source.weights(specs, { names, ...(derived ? { wired: derived.names } : {}), layerOrder, reversed, placed: (p) => mapping.push(p) });
  return { ir, env, weights, mapping, ...(derived ? { spec: derived.text } : {}) };
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
  // Written by a compiled PyTorch module's save_rnnc_weights: tensors by rnnc's own names, taken as they are.
  if (!tfjs && safetensorsMetadata(bytes)["format"] === "rnnc-weights")
    return {
      spec: () => { throw new UsageError(`'${path}' holds rnnc weights by param name: give the spec they are for`); },
      weights: (specs) => {
        const weights = new Map([...tensors].map(([k, t]) => [k, { shape: [...t.shape], data: t.data }] as const));
        checkWeights("the model", specs, weights, path);
        return weights;
      },
    };
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
