// Weights out of an ONNX model. One rnnc wrote says in its metadata where every param went (initializer, offset,
// transposed or not), so they come back exactly; any other exporter's LSTM, GRU, RNN, Gemm, MatMul+Add and Gather nodes
// are read as the state dict PyTorch would have and mapped like one (torch-import.ts).
import { RnncError } from "../diagnostics/errors.js";
import { alloc, type Tensor } from "../runtime/tensor.js";
import type { ParamSpec } from "./weights.js";
import { transposed, type NamedTensor } from "./safetensors.js";
import { importTorch } from "./torch-import.js";

export interface TensorJson { name: string; dims?: number[]; data_type?: number; float_data?: number[]; int64_data?: (number | string)[]; raw_data?: Uint8Array }
interface Placement { init: string; offset: number; transposed: boolean }

const bad = (source: string, why: string) => new RnncError("RNN0604", `${source}: ${why}`);

/** `model` is the decoded ModelProto (src/emit/onnx/proto.ts decodeModel). */
export function importOnnx(model: Record<string, unknown>, specs: readonly ParamSpec[], source: string, names: ReadonlyMap<string, string> = new Map()): Map<string, Tensor> {
  const meta = (model["metadata_props"] as { key: string; value: string }[] | undefined)?.find((m) => m.key === "rnnc.params");
  if (!meta) return importTorch(stateDictOf(model, source), specs, source, names);
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

export interface NodeJson { op_type: string; input?: string[]; output?: string[]; name?: string; attribute?: { name: string; i?: number; ints?: number[]; s?: Uint8Array }[] }

/** The state-dict key of node k: its name made an identifier (or its op and position). */
export const unitKeyOf = (n: NodeJson, k: number): string => (n.name || `${n.op_type.toLowerCase()}${k}`).replace(/[^\w]/g, "_");

/** The recurrent, dense and embedding nodes of a graph as a PyTorch-style state dict (module keys from node names). */
function stateDictOf(model: Record<string, unknown>, source: string): Map<string, NamedTensor> {
  const graph = model["graph"] as { node?: NodeJson[]; initializer?: TensorJson[] } | undefined;
  const inits = new Map((graph?.initializer ?? []).map((t) => [t.name, { shape: (t.dims ?? []).map(Number), data: floats(t, source) }]));
  const out = new Map<string, NamedTensor>();
  const attrOf = (n: NodeJson, name: string) => n.attribute?.find((a) => a.name === name)?.i;
  const consumers = (name: string) => (graph?.node ?? []).filter((n) => n.input?.includes(name));
  (graph?.node ?? []).forEach((n, k) => {
    const key = unitKeyOf(n, k);
    const [, w, r, b] = (n.input ?? []).map((i) => inits.get(i));
    if ((n.op_type === "LSTM" || n.op_type === "GRU" || n.op_type === "RNN") && w && r) {
      // ONNX gates: LSTM i o f c, GRU z r h; PyTorch's: i f g o, r z n. A bidirectional op's second direction is
      // PyTorch's `_reverse` weights.
      const order = n.op_type === "LSTM" ? [0, 2, 3, 1] : n.op_type === "GRU" ? [1, 0, 2] : [0];
      const G = order.length, H = r.shape[2]!, I = w.shape[2]!, D = w.shape[0] ?? 1;
      const blocks = (data: Float32Array, cols: number) => {
        const o = new Float32Array(G * H * cols);
        order.forEach((src, dst) => o.set(data.subarray(src * H * cols, (src + 1) * H * cols), dst * H * cols));
        return o;
      };
      for (let d = 0; d < D; d++) {
        const suffix = d ? "_reverse" : "";
        const bias = b?.data.subarray(d * 2 * G * H, (d + 1) * 2 * G * H) ?? new Float32Array(2 * G * H);
        out.set(`${key}.weight_ih_l0${suffix}`, { shape: [G * H, I], data: blocks(w.data.subarray(d * G * H * I), I) });
        out.set(`${key}.weight_hh_l0${suffix}`, { shape: [G * H, H], data: blocks(r.data.subarray(d * G * H * H), H) });
        out.set(`${key}.bias_ih_l0${suffix}`, { shape: [G * H], data: blocks(bias.subarray(0, G * H), 1) });
        out.set(`${key}.bias_hh_l0${suffix}`, { shape: [G * H], data: blocks(bias.subarray(G * H), 1) });
        // linear_before_reset = 0 adds both biases outside the product: one bias per gate, rnnc's GRUResetBefore.
        if (n.op_type === "GRU" && !attrOf(n, "linear_before_reset")) out.set(`${key}.reset_before_l0${suffix}`, { shape: [0], data: new Float32Array(0) });
      }
      return;
    }
    if (n.op_type === "Gemm" && inits.get(n.input![1]!)) {
      const W = inits.get(n.input![1]!)!;
      const wt = attrOf(n, "transB") ? W : transposed(W);
      out.set(`${key}.weight`, wt);
      out.set(`${key}.bias`, inits.get(n.input![2] ?? "") ?? { shape: [wt.shape[0]!], data: new Float32Array(wt.shape[0]!) });
      return;
    }
    if (n.op_type === "MatMul" && inits.get(n.input![1]!)?.shape.length === 2) {
      const add = consumers(n.output![0]!).find((c) => c.op_type === "Add");
      const bias = add?.input?.map((i) => inits.get(i)).find((t) => t && t.shape.length === 1);
      const wt = transposed(inits.get(n.input![1]!)!);
      out.set(`${key}.weight`, wt);
      out.set(`${key}.bias`, bias ?? { shape: [wt.shape[0]!], data: new Float32Array(wt.shape[0]!) });
      return;
    }
    if (n.op_type === "Gather" && inits.get(n.input![0]!)?.shape.length === 2) out.set(`${key}.weight`, inits.get(n.input![0]!)!);
  });
  return out;
}
