// `rnnc import SOURCE --spec FILE.rnn -o W.json`: trained weights from PyTorch (.safetensors) or tfjs-layers (model.json) as rnnc-weights JSON.
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../node/host.js";
import { resolveDims } from "../runtime/dims.js";
import { readSafetensors } from "../weights/safetensors.js";
import { readTfjsLayers } from "../weights/tfjs-import.js";
import { importOnnx } from "../weights/onnx-import.js";
import { RnncError } from "../diagnostics/errors.js";
import { dirname, join } from "node:path";
import { importTorch } from "../weights/torch-import.js";
import { modelParamSpecs, serializeWeights } from "../weights/weights.js";
import { assertNotInput, compiler, dimsGiven, readText, UsageError } from "./commands.js";

export interface ImportFlags { source: string; spec: string; model?: string | undefined; dims?: string | undefined; map?: string | undefined; out: string }

export async function importCommand(a: ImportFlags): Promise<number> {
  readText(a.spec, "spec");
  const tfjs = a.source.endsWith(".json"), onnx = a.source.endsWith(".onnx");
  if (!a.source.endsWith(".safetensors") && !tfjs && !onnx) throw new UsageError(`'${a.source}': rnnc imports PyTorch state dicts (.safetensors), tfjs-layers models (model.json) and ONNX models (.onnx)`);
  assertNotInput(a.out, { spec: a.spec, source: a.source });
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
  const ir = compiler.model(a.spec, a.model);
  const env = resolveDims(ir, dimsGiven(a, ir.dims.map((d) => d.name)));
  const specs = modelParamSpecs(ir, env);
  if (onnx) {
    const { decodeModel } = await import("../emit/onnx/proto.js");
    let model: Record<string, unknown>;
    try {
      model = decodeModel(bytes);
    } catch (e) {
      throw new RnncError("RNN0604", `${a.source} is not an ONNX model: ${(e as Error).message}`);
    }
    const weights = importOnnx(model, specs, a.source, names);
    writeFileAtomic(a.out, serializeWeights(ir.name, env, specs, weights));
    process.stderr.write(`wrote ${specs.length} params of ${ir.name} from ${a.source} to ${a.out}\n`);
    return 0;
  }
  const tensors = tfjs
    ? readTfjsLayers(new TextDecoder().decode(bytes), (p) => readShard(join(dirname(a.source), p)), a.source)
    : readSafetensors(bytes, a.source);
  const weights = importTorch(tensors, specs, a.source, names);
  writeFileAtomic(a.out, serializeWeights(ir.name, env, specs, weights));
  process.stderr.write(`wrote ${specs.length} params of ${ir.name} from ${a.source} to ${a.out}\n`);
  return 0;
}

function readShard(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch {
    throw new UsageError(`cannot read the weight file '${path}' the model.json names`);
  }
}
