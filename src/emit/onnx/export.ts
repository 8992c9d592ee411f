// `rnnc compile --target onnx`: a model as a standard ONNX graph. Scans of the stdlib LSTM, TorchLSTM, GRU, GRUResetBefore and
// Elman become ONNX's own recurrent ops; any other cell becomes a Scan whose body is its step; what cannot be exported
// yet is a coded error naming the construct.
import { RnncError } from "../../diagnostics/errors.js";
import { dimToString, evalDim } from "../../ir/dims.js";
import type { LayerInfo, ModelIR, Node } from "../../ir/ir.js";
import { driveModel, type ModelBackend, type Scanned, type StatesOf } from "../../ir/model-driver.js";
import { Op } from "../../ir/ops.js";
import { layerEnv, type DimEnv } from "../../runtime/dims.js";
import type { Tensor } from "../../runtime/tensor.js";
import { OnnxGraph, sharedState } from "./graph.js";
import { attr, DType, OPSET, tensorType, type ValueInfo } from "./proto.js";
import { recurrentOp } from "./recurrent.js";
import { scanOp } from "./scan.js";
import { lowerStep } from "./step.js";
import { wholeSequence, type Wholes } from "./whole.js";
import { generateOp } from "./generate.js";
import { lowerModelOp } from "./pointwise.js";

const cannot = (what: string, why: string): RnncError =>
  new RnncError("RNN0801", `cannot export ${what} to ONNX: ${why}`, ["exported today: scan and map of any cell (with init, reverse and lengths), apply, last, final and its fields, generate greedy or by beam search"], "run it with rnnc run or compile it to js or tfjs instead");

/** Params each exported stdlib cell has (a cell of that name elsewhere, or changed, is not taken for it). */
const stdlibParams: Record<string, readonly string[]> = {
  LSTM: ["W_xi", "W_xf", "W_xg", "W_xo", "W_hi", "W_hf", "W_hg", "W_ho", "b_i", "b_f", "b_g", "b_o"],
  TorchLSTM: ["W_xi", "W_xf", "W_xg", "W_xo", "W_hi", "W_hf", "W_hg", "W_ho", "b_xi", "b_xf", "b_xg", "b_xo", "b_hi", "b_hf", "b_hg", "b_ho"],
  GRU: ["W_xz", "W_xr", "W_xn", "W_hz", "W_hr", "W_hn", "b_xz", "b_xr", "b_xn", "b_hz", "b_hr", "b_hn"],
  GRUResetBefore: ["W_xz", "W_xr", "W_xn", "W_hz", "W_hr", "W_hn", "b_z", "b_r", "b_n"],
  Elman: ["W_xh", "W_hh", "b_h"],
};

/** Which stdlib recurrent cell a layer is (by name, from the standard library's files, with its params), or undefined. */
export function stdlibCell(l: { readonly ir: LayerInfo["ir"] }): string | undefined {
  const fromStdlib = /(^|[\\/])(stdlib|std)[\\/][a-z-]+\.rnn$/.test(l.ir.file);
  const params = stdlibParams[l.ir.name];
  const same = params !== undefined && params.length === l.ir.params.length && params.every((p) => l.ir.params.some((q) => q.name === p));
  return fromStdlib && same ? l.ir.name : undefined;
}

export interface OnnxExport { readonly bytes: Uint8Array; readonly opset: number; readonly inputs: readonly string[]; readonly outputs: readonly string[] }

/** A value of the model graph: one [batch, …], or a sequence [batch, time, …] with its lengths. */
type Value = { kind: "one"; name: string } | { kind: "seq"; name: string; lengths: string };

export function exportOnnx(ir: ModelIR, env: DimEnv, weights: ReadonlyMap<string, Tensor>, producerVersion: string): OnnxExport {
  const g = new OnnxGraph(sharedState(weights));
  g.reserve([...ir.inputs.map((i) => i.name), ...ir.outputs.map((o) => o.name)]);
  const inputs: ValueInfo[] = [];
  const dims = (shape: Node["shape"]) => shape.map((d) => evalDim(d, env) ?? dimToString(d));
  const layers = new Map(ir.layers.map((l) => [l.name, l]));
  const layerOf = (n: Node) => layers.get(n.attrs.layer!)!;
  /** Scans whose final states something reads (ONNX's recurrent ops then give Y_h, Y_c). */
  const finalsUsed = new Set(ir.nodes.filter((n) => n.op === Op.Final).map((n) => n.args[0]!));
  const seq = (x: Value) => { if (x.kind !== "seq") throw new Error("internal: not a sequence"); return x; };
  const one = (x: Value) => { if (x.kind !== "one") throw new Error("internal: not a single value"); return x.name; };
  /** The starting states an `init = …` argument gives, in the layer's order. */
  const startOf = (init: StatesOf<Value> | undefined): readonly string[] | undefined => (init ? [...init.values()].map(one) : undefined);
  const record = (l: LayerInfo, names: readonly string[]): StatesOf<Value> => new Map(l.ir.states.map((s, k) => [s.name, { kind: "one", name: names[k]! }]));
  /** The sequences a layer reads whole, by its input names (xs: by input, undefined for a stepped one). */
  const wholesOf = (l: LayerInfo, xs: readonly (Value | undefined)[]): Wholes =>
    new Map(l.ir.inputs.flatMap((inp, k) => (inp.memory === undefined ? [] : [[inp.name, wholeSequence(g, seq(xs[k]!).name, seq(xs[k]!).lengths, inp.shape.length - 1)] as const])));
  const scan = (n: Node, all: readonly Value[], init: StatesOf<Value> | undefined): Scanned<Value> => {
    const l = layerOf(n);
    const wholes = wholesOf(l, all);
    const seqs = all.filter((_, k) => l.ir.inputs[k]!.memory === undefined).map(seq);
    const cell = wholes.size ? undefined : stdlibCell(l);
    const r = n.op === Op.Scan && cell
      ? recurrentOp(cell, l, layerEnv(l, env), seqs[0]!.name, seqs[0]!.lengths, n.attrs.reverse === true, g, startOf(init), finalsUsed.has(n.id))
      : scanOp(g, l, layerEnv(l, env), seqs.map((x) => x.name), seqs[0]!.lengths, n.attrs.reverse === true, startOf(init), wholes);
    return { seq: { kind: "seq", name: r.ys, lengths: seqs[0]!.lengths }, finals: record(l, r.finals) };
  };
  const backend: ModelBackend<Value> = {
    input: (n) => {
      const inp = ir.inputs.find((i) => i.name === n.attrs.name)!;
      inputs.push({ name: inp.name, type: tensorType(inp.dtype === "int" ? DType.INT64 : DType.FLOAT, ["batch", ...(inp.seq ? [inp.seq] : []), ...dims(inp.shape)]) });
      if (!inp.seq) return { kind: "one", name: inp.name };
      const lengths = g.unique(`${inp.name}_lengths`);
      inputs.push({ name: lengths, type: tensorType(DType.INT64, ["batch"]) });
      return { kind: "seq", name: inp.name, lengths };
    },
    constant: (n) => ({ kind: "one", name: lowerModelOp(g, n, [], env) }),
    pointwise: (n, args) => {
      // An op between layers: on single values, sequences (each step) or constants.
      const name = lowerModelOp(g, n, args.map((x, k) => ({ name: x.name, lead: ir.nodes[n.args[k]!]!.op === Op.Const ? 0 : x.kind === "seq" ? 2 : 1, rank: ir.nodes[n.args[k]!]!.shape.length })), env);
      const s = args.find((x) => x.kind === "seq");
      return s && s.kind === "seq" ? { kind: "seq", name, lengths: s.lengths } : { kind: "one", name };
    },
    [Op.Scan]: scan,
    [Op.Map]: (n, xs) => scan(n, xs, undefined).seq,
    [Op.Apply]: (n, xs) => {
      const l = layerOf(n);
      if (l.ir.states.length) throw cannot(`apply of layer \`${l.name}\``, "a layer with states applied to a single value");
      const names = xs.map(one);
      const step = lowerStep(l.ir, layerEnv(l, env), g, {
        input: (name) => names[l.ir.inputs.findIndex((i) => i.name === name)]!,
        state: () => { throw new Error("internal: a stateless layer read a state"); },
        batch: () => g.batch(names[0]!),
      }, l.name);
      return { kind: "one", name: step[l.ir.outputs[0]!.node]! };
    },
    [Op.Generate]: (n, start, init, given) => {
      const l = layerOf(n);
      const starts = startOf(init);
      const startName = start ? one(start) : undefined;
      const r = generateOp(g, n, l, layerEnv(l, env), g.batch(starts?.[0] ?? startName ?? inputs[0]!.name), starts, startName, wholesOf(l, [undefined, ...given]));
      return { seq: { kind: "seq", name: r.ys, lengths: r.lengths }, finals: record(l, r.finals) };
    },
    [Op.Last]: (_n, x) => {
      // Each example's step at index length-1: GatherND over [batch, time, …] with indices [batch, 1].
      const s = seq(x);
      const idx = g.node("Unsqueeze", [g.node("Sub", [s.lengths, g.ints([1], true)])[0]!, g.ints([1])])[0]!;
      return { kind: "one", name: g.node("GatherND", [s.name, idx], 1, [attr("batch_dims", 1)])[0]! };
    },
  };
  const v = driveModel(ir, backend);
  const outputs: ValueInfo[] = ir.outputs.map((o) => {
    const n = ir.nodes[o.node]!;
    const d = v[o.node]!;
    if (d.kind === "states") throw cannot(`output \`${o.name}\` (a record of states)`, "output each state as its own field, e.g. `final(s).h`");
    const x = d.v;
    g.node("Identity", [x.name], [o.name]);
    return [{ name: o.name, type: tensorType(n.dtype === "int" ? DType.INT64 : DType.FLOAT, ["batch", ...(n.seq ? [n.seq] : []), ...dims(n.shape)]) },
      // A sequence's lengths beside it (generated sequences end where each example produced its end token).
      ...(x.kind === "seq" ? [lengthsOutput(o.name, x.lengths)] : [])];
  }).flat();
  function lengthsOutput(name: string, lengths: string): ValueInfo {
    const out = g.unique(`${name}_lengths`);
    g.node("Identity", [lengths], [out]);
    return { name: out, type: tensorType(DType.INT64, ["batch"]) };
  }
  const bytes = g.encode({ name: ir.name, input: inputs, output: outputs }, `${ir.name} from ${ir.file}, exported by rnnc`, producerVersion);
  return { bytes, opset: OPSET, inputs: inputs.map((i) => i.name), outputs: outputs.map((o) => o.name) };
}
