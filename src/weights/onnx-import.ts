// Weights out of an ONNX model written by `rnnc compile --target onnx`: its metadata says where every param went
// (which initializer, from which offset, transposed or not), so the weights come back exactly.
import { RnncError } from "../diagnostics/errors.js";
import { alloc, type Tensor } from "../runtime/tensor.js";
import type { ParamSpec } from "./weights.js";

interface TensorJson { name: string; dims?: number[]; data_type?: number; float_data?: number[]; raw_data?: Uint8Array }
interface Placement { init: string; offset: number; transposed: boolean }

const bad = (source: string, why: string) => new RnncError("RNN0604", `${source}: ${why}`);

/** `model` is the decoded ModelProto (src/emit/onnx/proto.ts decodeModel). */
export function importOnnx(model: Record<string, unknown>, specs: readonly ParamSpec[], source: string): Map<string, Tensor> {
  const meta = (model["metadata_props"] as { key: string; value: string }[] | undefined)?.find((m) => m.key === "rnnc.params");
  if (!meta) throw bad(source, "this ONNX model was not written by rnnc compile --target onnx (it has no rnnc.params metadata); reading other exporters' LSTM/GRU/RNN and Gemm nodes is to come");
  let places: Record<string, Placement>;
  try {
    places = JSON.parse(meta.value) as Record<string, Placement>;
  } catch {
    throw bad(source, "its rnnc.params metadata is not JSON");
  }
  const graph = model["graph"] as { initializer?: TensorJson[] } | undefined;
  const inits = new Map((graph?.initializer ?? []).map((t) => [t.name, t]));
  const out = new Map<string, Tensor>();
  for (const spec of specs) {
    const where = places[spec.name];
    if (!where) throw new RnncError("RNN0601", `${source} has no values for param \`${spec.name}\``, [`it was exported from another model: it holds ${Object.keys(places).join(", ") || "nothing"}`]);
    const init = inits.get(where.init);
    if (!init) throw bad(source, `the initializer ${where.init} of \`${spec.name}\` is missing`);
    const data = floats(init, source);
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (where.offset + n > data.length) throw new RnncError("RNN0603", `${source}: \`${spec.name}\` [${spec.shape.join(", ")}] does not fit in initializer ${where.init} [${(init.dims ?? []).join(", ")}]`);
    const t = alloc([...spec.shape], "f32");
    const part = data.subarray(where.offset, where.offset + n);
    if (where.transposed && spec.shape.length === 2) {
      const [r, c] = spec.shape as [number, number];
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t.data[i * c + j] = part[j * r + i]!;
    } else t.data.set(part);
    out.set(spec.name, t);
  }
  return out;
}

/** An initializer's values as float32 (float_data, or raw little-endian bytes). */
function floats(t: TensorJson, source: string): Float32Array {
  if (t.data_type !== undefined && t.data_type !== 1) throw bad(source, `initializer ${t.name} is not float32`);
  if (t.float_data?.length) return Float32Array.from(t.float_data);
  if (t.raw_data?.length) {
    const v = new DataView(t.raw_data.buffer, t.raw_data.byteOffset, t.raw_data.byteLength);
    return Float32Array.from({ length: t.raw_data.byteLength / 4 }, (_, i) => v.getFloat32(4 * i, true));
  }
  return new Float32Array(0);
}
