// `rnnc compile --target onnx`: a model as a standard ONNX graph. Stdlib recurrent cells become ONNX's own LSTM, GRU and
// RNN ops; Dense and Embedding become MatMul/Add/activation and Gather. Anything else is a coded error naming it.
import { RnncError } from "../../diagnostics/errors.js";
import { evalDim } from "../../ir/dims.js";
import type { LayerInfo, ModelIR, Node } from "../../ir/ir.js";
import { Op } from "../../ir/ops.js";
import { layerEnv, type DimEnv } from "../../runtime/dims.js";
import type { Tensor } from "../../runtime/tensor.js";
import { recurrentOp, type Emit } from "./recurrent.js";
import { attr, DType, encodeModel, IR_VERSION, OPSET, tensorType, type NodeSpec, type TensorSpec, type ValueInfo } from "./proto.js";

const cannot = (what: string, why: string): RnncError =>
  new RnncError("RNN0801", `cannot export ${what} to ONNX: ${why}`, ["exported today: scans of the stdlib LSTM, GRU, GRUResetBefore and Elman, maps and applications of Dense and Embedding, and last"], "run it with rnnc run or compile it to js or tfjs instead");

/** Params each exported stdlib cell has (a cell of that name elsewhere, or changed, is not taken for it). */
const stdlibParams: Record<string, readonly string[]> = {
  LSTM: ["W_xi", "W_xf", "W_xg", "W_xo", "W_hi", "W_hf", "W_hg", "W_ho", "b_i", "b_f", "b_g", "b_o"],
  GRU: ["W_xz", "W_xr", "W_xn", "W_hz", "W_hr", "W_hn", "b_xz", "b_xr", "b_xn", "b_hz", "b_hr", "b_hn"],
  GRUResetBefore: ["W_xz", "W_xr", "W_xn", "W_hz", "W_hr", "W_hn", "b_z", "b_r", "b_n"],
  Elman: ["W_xh", "W_hh", "b_h"],
  Dense: ["W", "b"],
  Embedding: ["table"],
};

/** Which stdlib cell a layer is (by name, from the standard library's files, with its params), or undefined. */
export function stdlibCell(l: LayerInfo): string | undefined {
  const fromStdlib = /(^|[\\/])(stdlib|std)[\\/][a-z-]+\.rnn$/.test(l.ir.file);
  const params = stdlibParams[l.ir.name];
  const same = params !== undefined && params.length === l.ir.params.length && params.every((p) => l.ir.params.some((q) => q.name === p));
  return fromStdlib && same ? l.ir.name : undefined;
}

export interface OnnxExport { readonly bytes: Uint8Array; readonly opset: number; readonly inputs: readonly string[]; readonly outputs: readonly string[] }

export function exportOnnx(ir: ModelIR, env: DimEnv, weights: ReadonlyMap<string, Tensor>, producerVersion: string): OnnxExport {
  const nodes: NodeSpec[] = [];
  const inits: TensorSpec[] = [];
  const inputs: ValueInfo[] = [];
  let counter = 0;
  const fresh = (hint: string) => `${hint}_${counter++}`;
  const emit: Emit = {
    node(op_type, input, outputs = 1, attributes = []) {
      const output = Array.from({ length: outputs }, () => fresh(op_type.toLowerCase()));
      nodes.push({ op_type, input, output, name: fresh(`n_${op_type}`), attribute: attributes });
      return output;
    },
    init(hint, dims, data, type = DType.FLOAT) {
      const name = fresh(hint);
      inits.push(type === DType.FLOAT ? { name, dims, data_type: type, float_data: Array.from(data) } : { name, dims, data_type: type, int64_data: Array.from(data) });
      return name;
    },
    weight(layer, param) {
      const t = weights.get(`${layer}.${param}`);
      if (!t) throw new Error(`internal: no weight ${layer}.${param}`);
      return t;
    },
  };
  const dims = (shape: Node["shape"]) => shape.map((d) => evalDim(d, env)!);
  const value: string[] = [];
  const lengths = new Map<number, string>(); // sequence node → its int64 lengths [batch]
  const layers = new Map(ir.layers.map((l) => [l.name, l]));
  const layerOf = (n: Node) => layers.get(n.attrs.layer!)!;

  for (const n of ir.nodes) {
    switch (n.op) {
      case Op.Input: {
        const inp = ir.inputs.find((i) => i.name === n.attrs.name)!;
        const elem = inp.dtype === "int" ? DType.INT64 : DType.FLOAT;
        inputs.push({ name: inp.name, type: tensorType(elem, ["batch", ...(inp.seq ? [inp.seq] : []), ...dims(inp.shape)]) });
        value[n.id] = inp.name;
        if (inp.seq) {
          const ln = `${inp.name}_lengths`;
          inputs.push({ name: ln, type: tensorType(DType.INT64, ["batch"]) });
          lengths.set(n.id, ln);
        }
        break;
      }
      case Op.Map:
      case Op.Apply:
        value[n.id] = pointwise(layerOf(n), value[n.args[0]!]!, emit, env);
        if (n.op === Op.Map) lengths.set(n.id, lengths.get(n.args[0]!)!);
        break;
      case Op.Scan: {
        const l = layerOf(n);
        if (n.attrs.hasInit) throw cannot(`scan of layer \`${l.name}\` with init`, "initial states are not exported yet");
        const cell = stdlibCell(l);
        if (!cell || !["LSTM", "GRU", "GRUResetBefore", "Elman"].includes(cell)) throw cannot(`scan of layer \`${l.name}\` (cell ${l.ir.name})`, "only the stdlib LSTM, GRU, GRUResetBefore and Elman cells are exported so far");
        value[n.id] = recurrentOp(cell, l, layerEnv(l, env), value[n.args[0]!]!, lengths.get(n.args[0]!)!, n.attrs.reverse === true, emit);
        lengths.set(n.id, lengths.get(n.args[0]!)!);
        break;
      }
      case Op.Last: {
        // Each example's step at index length-1: GatherND over [batch, time, …] with indices [batch, 1].
        const one = emit.init("one", [], [1], DType.INT64);
        const [idx] = emit.node("Sub", [lengths.get(n.args[0]!)!, one]);
        const axes = emit.init("axes", [1], [1], DType.INT64);
        const [idx2] = emit.node("Unsqueeze", [idx!, axes]);
        value[n.id] = emit.node("GatherND", [value[n.args[0]!]!, idx2!], 1, [attr("batch_dims", 1)])[0]!;
        break;
      }
      default:
        throw cannot(`\`${n.op}\``, "this construct is not exported yet");
    }
  }
  const outputs: ValueInfo[] = ir.outputs.map((o) => {
    const n = ir.nodes[o.node]!;
    const [out] = emit.node("Identity", [value[o.node]!]);
    nodes[nodes.length - 1]!.output = [o.name];
    void out;
    return { name: o.name, type: tensorType(DType.FLOAT, ["batch", ...(n.seq ? [n.seq] : []), ...dims(n.shape)]) };
  });
  const model = {
    ir_version: IR_VERSION,
    opset_import: [{ domain: "", version: OPSET }],
    producer_name: "rnnc",
    producer_version: producerVersion,
    doc_string: `${ir.name} from ${ir.file}, exported by rnnc`,
    graph: { name: ir.name, node: nodes, initializer: inits, input: inputs, output: outputs },
  };
  return { bytes: encodeModel(model), opset: OPSET, inputs: inputs.map((i) => i.name), outputs: outputs.map((o) => o.name) };
}

/** A Dense or Embedding layer applied to the last axis of `x` (any leading axes). */
function pointwise(l: LayerInfo, x: string, e: Emit, env: DimEnv): string {
  const cell = stdlibCell(l);
  const ld = layerEnv(l, env);
  if (cell === "Embedding") {
    const table = e.weight(l.name, "table");
    return e.node("Gather", [e.init(`${l.name}_table`, [...table.shape], table.data), x], 1, [attr("axis", 0)])[0]!;
  }
  if (cell !== "Dense") throw cannot(`layer \`${l.name}\` (cell ${l.ir.name})`, "only the stdlib Dense and Embedding are exported as maps and applications so far");
  const W = e.weight(l.name, "W"), b = e.weight(l.name, "b");
  const [O, I] = [ld.get("O")!, ld.get("I")!];
  const Wt = new Float32Array(I * O);
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) Wt[i * O + o] = W.data[o * I + i]!;
  const [xw] = e.node("MatMul", [x, e.init(`${l.name}_W`, [I, O], Wt)]);
  const [y] = e.node("Add", [xw!, e.init(`${l.name}_b`, [O], b.data)]);
  const act = String(l.ir.options.get("act") ?? "identity");
  const ops: Record<string, string> = { tanh: "Tanh", relu: "Relu", sigmoid: "Sigmoid", "σ": "Sigmoid", softmax: "Softmax" };
  if (act === "identity") return y!;
  if (!ops[act]) throw cannot(`layer \`${l.name}\` with act = ${act}`, "that activation is not exported yet");
  return e.node(ops[act]!, [y!], 1, act === "softmax" ? [attr("axis", -1)] : [])[0]!;
}
