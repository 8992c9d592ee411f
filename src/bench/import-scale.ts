// Benchmark: the importers' time against the number of weights (issue 23 asks linear): the same kinds of files with 8× the weights.
import { readSafetensors } from "../weights/safetensors.js";
import { readTfjsLayers } from "../weights/tfjs-import.js";
import { decodeModel, encodeModel, IR_VERSION, OPSET } from "../emit/onnx/proto.js";
import { importOnnx } from "../weights/onnx-import.js";

export interface ImportScaleRow { readonly format: string; readonly weights: number; readonly ms: number; readonly usPerWeight: number }

/** A tfjs-layers model.json of `n` Dense layers (kernel 4×4 and bias each), and its one shard. */
function tfjsModel(n: number): { json: string; shard: Uint8Array } {
  const layers = Array.from({ length: n }, (_, k) => ({ class_name: "Dense", config: { name: `dense_${k}`, activation: "linear" } }));
  const weights = layers.flatMap((l) => [{ name: `${l.config.name}/kernel`, shape: [4, 4], dtype: "float32" }, { name: `${l.config.name}/bias`, shape: [4], dtype: "float32" }]);
  const json = JSON.stringify({ modelTopology: { class_name: "Sequential", config: { layers } }, weightsManifest: [{ paths: ["w.bin"], weights }] });
  return { json, shard: new Uint8Array(4 * 20 * n) };
}

/** A safetensors file of `n` tensors of 20 floats. */
function safetensorsFile(n: number): Uint8Array {
  const header: Record<string, unknown> = {};
  for (let k = 0; k < n; k++) header[`layer${k}.weight`] = { dtype: "F32", shape: [4, 5], data_offsets: [80 * k, 80 * (k + 1)] };
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + 80 * n);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  return out;
}

/** An ONNX graph of `n` Gemm nodes in a chain, each with its weight and bias initializers. */
function onnxModel(n: number): Uint8Array {
  const node = Array.from({ length: n }, (_, k) => ({ op_type: "Gemm", name: `fc${k}`, input: [k ? `y${k - 1}` : "x", `W${k}`, `b${k}`], output: [`y${k}`], attribute: [{ name: "transB", type: 2, i: 1 }] }));
  const initializer = Array.from({ length: n }, (_, k) => [
    { name: `W${k}`, dims: [4, 4], data_type: 1, float_data: Array(16).fill(0.5) },
    { name: `b${k}`, dims: [4], data_type: 1, float_data: Array(4).fill(0) },
  ]).flat();
  const t = { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: "batch" }, { dim_value: 4 }] } } };
  return encodeModel({ ir_version: IR_VERSION, opset_import: [{ domain: "", version: OPSET }], graph: { name: "g", node, initializer, input: [{ name: "x", type: t }], output: [{ name: `y${n - 1}`, type: t }] } });
}

/** Each importer on files of n and 8n weights, best of `reps`: time per weight should stay flat. */
export function benchImportScale(reps: number, n = 500): ImportScaleRow[] {
  const best = (f: () => void) => { let b = Infinity; for (let r = 0; r < reps; r++) { const t0 = performance.now(); f(); b = Math.min(b, performance.now() - t0); } return b; };
  const rows: ImportScaleRow[] = [];
  for (const size of [n, 8 * n]) {
    const tf = tfjsModel(size);
    const st = safetensorsFile(size);
    const onnx = onnxModel(size);
    const row = (format: string, weights: number, ms: number) => rows.push({ format, weights, ms, usPerWeight: (1000 * ms) / weights });
    row("tfjs-layers model.json (read, every layer's weights looked up)", 2 * size, best(() => readTfjsLayers(tf.json, () => tf.shard, "bench.json")));
    row("safetensors (read)", size, best(() => readSafetensors(st, "bench.safetensors")));
    row("ONNX (decode, state dict of every Gemm)", 2 * size, best(() => importOnnx(decodeModel(onnx), [], "bench.onnx")));
  }
  return rows;
}
