// Weights out of an ONNX model. One rnnc wrote says in its metadata where every param went (initializer, offset,
// transposed or not), so they come back exactly; any other exporter's LSTM, GRU, RNN, Gemm, MatMul+Add and Gather nodes
// are read as the state dict PyTorch would have and mapped like one (torch-import.ts).
import { RnncError } from "../diagnostics/errors.js";
import { alloc, type Tensor } from "../runtime/tensor.js";
import type { ParamSpec } from "./weights.js";
import { transposed, type NamedTensor } from "./safetensors.js";
import { importTorch, type Mapping } from "./torch-import.js";
import { dimsOf, initializerFloats, type TensorJson } from "./onnx-tensors.js";
import type { ReadOptions } from "./bounds.js";

export type { TensorJson } from "./onnx-tensors.js";
interface Placement { init: string; offset: number; transposed: boolean; shape?: unknown }

const bad = (source: string, why: string) => new RnncError("RNN0604", `${source}: ${why}`);

/** `model` is the decoded ModelProto (src/emit/onnx/proto.ts decodeModel). */
export function importOnnx(model: Record<string, unknown>, specs: readonly ParamSpec[], source: string, mapping: Mapping = {}, opts: ReadOptions = {}): Map<string, Tensor> {
  const meta = (model["metadata_props"] as { key: string; value: string }[] | undefined)?.find((m) => m.key === "rnnc.params");
  if (!meta) return importTorch(stateDictOf(model, source, opts), specs, source, { noun: "ONNX node direction", ...mapping });
  let places: Record<string, Placement>;
  try {
    places = JSON.parse(meta.value) as Record<string, Placement>;
  } catch {
    throw bad(source, "its rnnc.params metadata is not JSON");
  }
  if (typeof places !== "object" || places === null || Array.isArray(places)) throw bad(source, "its rnnc.params metadata is not an object");
  const graph = model["graph"] as { initializer?: TensorJson[] } | undefined;
  const inits = new Map((graph?.initializer ?? []).map((t) => [t.name, t]));
  const out = new Map<string, Tensor>();
  for (const spec of specs) {
    const where = Object.hasOwn(places, spec.name) ? places[spec.name] : undefined;
    if (where !== undefined && (typeof where !== "object" || where === null || typeof where.init !== "string")) throw bad(source, `its rnnc.params metadata has no initializer for \`${spec.name}\``);
    if (!where) throw new RnncError("RNN0601", `${source} has no values for param \`${spec.name}\``, [`it was exported from another model: it holds ${Object.keys(places).join(", ") || "nothing"}`]);
    const init = inits.get(where.init);
    if (!init) throw bad(source, `the initializer ${String(where.init)} of \`${spec.name}\` is missing`);
    if (!Number.isSafeInteger(where.offset) || where.offset < 0) throw bad(source, `its rnnc.params metadata gives \`${spec.name}\` the offset ${String(where.offset)}`);
    // Files rnnc writes record each param's shape: another shape with as many values (H = 8 onto H = 4 …) is refused.
    if (Array.isArray(where.shape) && (where.shape.length !== spec.shape.length || where.shape.some((d, i) => d !== spec.shape[i])))
      throw new RnncError("RNN0603", `${source}: \`${spec.name}\` was exported with shape [${where.shape.map(String).join(", ")}], and the spec's is [${spec.shape.join(", ")}]`, [], "give the dims the model was exported with (--dims), or the spec it was exported from");
    const data = initializerFloats(init, source, opts);
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

export interface NodeJson { op_type: string; input?: string[]; output?: string[]; name?: string; attribute?: { name: string; i?: number; ints?: number[]; s?: Uint8Array }[] }

/** The state-dict key of node k: its name made an identifier (or its op and position). */
export const unitKeyOf = (n: NodeJson, k: number): string => (n.name || `${n.op_type.toLowerCase()}${k}`).replace(/[^\w]/g, "_");

/** The recurrent, dense and embedding nodes of a graph as a PyTorch-style state dict (module keys from node names). */
function stateDictOf(model: Record<string, unknown>, source: string, opts: ReadOptions): Map<string, NamedTensor> {
  const graph = model["graph"] as { node?: NodeJson[]; initializer?: TensorJson[] } | undefined;
  const nodes = graph?.node ?? [];
  // Initializers by name, their dims checked up front and their values read only when a weight is taken from them.
  const protos = new Map((graph?.initializer ?? []).map((t) => [t.name, t]));
  const read = new Map<string, NamedTensor>();
  const shapeOf = (name: string | undefined): number[] | undefined => {
    const t = name === undefined ? undefined : protos.get(name);
    return t && dimsOf(t, source).shape;
  };
  const init = (name: string | undefined): NamedTensor | undefined => {
    const t = name === undefined ? undefined : protos.get(name);
    if (!t) return undefined;
    if (!read.has(t.name)) read.set(t.name, { shape: dimsOf(t, source).shape, data: initializerFloats(t, source, opts) });
    return read.get(t.name);
  };
  const node = (n: NodeJson, why: string) => bad(source, `node ${n.name || n.op_type} (${n.op_type}) ${why}`);
  const out = new Map<string, NamedTensor>();
  const attrOf = (n: NodeJson, name: string) => n.attribute?.find((a) => a.name === name)?.i;
  const consumers = new Map<string, NodeJson[]>();
  for (const n of nodes) for (const i of n.input ?? []) {
    const list = consumers.get(i);
    if (list) list.push(n);
    else consumers.set(i, [n]);
  }
  nodes.forEach((n, k) => {
    const key = unitKeyOf(n, k);
    const inputs = n.input ?? [];
    if ((n.op_type === "LSTM" || n.op_type === "GRU" || n.op_type === "RNN") && shapeOf(inputs[1]) && shapeOf(inputs[2])) {
      // ONNX gates: LSTM i o f c, GRU z r h; PyTorch's: i f g o, r z n. A bidirectional op's second direction is
      // PyTorch's `_reverse` weights.
      const order = n.op_type === "LSTM" ? [0, 2, 3, 1] : n.op_type === "GRU" ? [1, 0, 2] : [0];
      const G = order.length, ws = shapeOf(inputs[1])!, rs = shapeOf(inputs[2])!, bs = inputs[3] ? shapeOf(inputs[3]) : undefined;
      const D = ws[0]!, H = rs[2]!, I = ws[2]!;
      const fits = ws.length === 3 && rs.length === 3 && (D === 1 || D === 2) && H > 0 && ws[1] === G * H && rs[0] === D && rs[1] === G * H && (!bs || (bs.length === 2 && bs[0] === D && bs[1] === 2 * G * H));
      if (!fits) throw node(n, `has W [${ws.join(", ")}], R [${rs.join(", ")}]${bs ? ` and B [${bs.join(", ")}]` : ""}, which do not fit together: W is [directions, ${G}·H, I], R [directions, ${G}·H, H], B [directions, ${2 * G}·H]`);
      const w = init(inputs[1])!, r = init(inputs[2])!, b = init(inputs[3]);
      const blocks = (data: Float32Array, cols: number) => {
        const o = new Float32Array(G * H * cols);
        order.forEach((src, dst) => o.set(data.subarray(src * H * cols, (src + 1) * H * cols), dst * H * cols));
        return o;
      };
      // A reverse-only op's one direction is keyed `_reverse` too, so that it goes to a layer rnnc scans in reverse.
      const reverseOnly = new TextDecoder().decode(n.attribute?.find((a) => a.name === "direction")?.s ?? new Uint8Array()) === "reverse";
      // Peepholes (LSTM's P [directions, 3·H], ONNX order i, o, f) as `peephole_l0` in rnnc's order p_i, p_f, p_o.
      const ps = n.op_type === "LSTM" && inputs[7] ? shapeOf(inputs[7]) : undefined;
      if (ps && (ps.length !== 2 || ps[0] !== D || ps[1] !== 3 * H)) throw node(n, `has peepholes P [${ps.join(", ")}]; P is [directions, 3·H] = [${D}, ${3 * H}]`);
      const p = ps ? init(inputs[7])! : undefined;
      for (let d = 0; d < D; d++) {
        const suffix = d || reverseOnly ? "_reverse" : "";
        if (p) {
          const at = (g: number) => p.data.subarray(d * 3 * H + g * H, d * 3 * H + (g + 1) * H);
          const peep = new Float32Array(3 * H);
          [0, 2, 1].forEach((src, dst) => peep.set(at(src), dst * H));
          out.set(`${key}.peephole_l0${suffix}`, { shape: [3 * H], data: peep });
        }
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
    if (n.op_type === "Gemm" && shapeOf(inputs[1])) {
      const ws = shapeOf(inputs[1])!;
      if (ws.length !== 2) throw node(n, `multiplies by a weight of shape [${ws.join(", ")}], not a matrix`);
      const W = init(inputs[1])!;
      const wt = attrOf(n, "transB") ? W : transposed(W);
      const bias = init(inputs[2]);
      if (bias && bias.data.length !== wt.shape[0]) throw node(n, `adds a bias of ${bias.data.length} values to ${wt.shape[0]} outputs`);
      out.set(`${key}.weight`, wt);
      out.set(`${key}.bias`, bias ? { shape: [wt.shape[0]!], data: bias.data } : { shape: [wt.shape[0]!], data: new Float32Array(wt.shape[0]!) });
      return;
    }
    if (n.op_type === "MatMul" && shapeOf(inputs[1])?.length === 2) {
      const add = (consumers.get(n.output?.[0] ?? "") ?? []).find((c) => c.op_type === "Add");
      const wt = transposed(init(inputs[1])!);
      const bias = add?.input?.map((i) => (shapeOf(i)?.length === 1 && shapeOf(i)![0] === wt.shape[0] ? init(i) : undefined)).find((t) => t);
      out.set(`${key}.weight`, wt);
      out.set(`${key}.bias`, bias ?? { shape: [wt.shape[0]!], data: new Float32Array(wt.shape[0]!) });
      return;
    }
    if (n.op_type === "Gather" && shapeOf(inputs[0])?.length === 2) out.set(`${key}.weight`, init(inputs[0])!);
  });
  return out;
}
