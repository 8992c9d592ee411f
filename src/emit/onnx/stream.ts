// `rnnc compile --target onnx --streaming`: one time step per call, every state an explicit input and output (the
// shape serving systems with sequence batching expect). Only models that can run a step at a time (streamability).
import { RnncError } from "../../diagnostics/errors.js";
import { evalDim } from "../../ir/dims.js";
import type { ModelIR, Node } from "../../ir/ir.js";
import { Op } from "../../ir/ops.js";
import { driveModel, drivenValue, type Scanned } from "../../ir/model-driver.js";
import { streamability } from "../../ir/streaming.js";
import { optimize } from "../../passes/pipeline.js";
import { layerEnv, type DimEnv } from "../../runtime/dims.js";
import type { Tensor } from "../../runtime/tensor.js";
import { OnnxGraph, sharedState } from "./graph.js";
import { lowerModelOp } from "./pointwise.js";
import { DType, OPSET, tensorType, type ValueInfo } from "./proto.js";
import { lowerStep } from "./step.js";
import type { OnnxExport } from "./export.js";

/** A state input of the streaming graph: `state.LAYER.NAME` (and `_lagK` for older steps); its output adds `.next`. */
export interface StreamState { readonly input: string; readonly output: string; readonly shape: readonly number[]; readonly start: number }

export function exportOnnxStreaming(ir: ModelIR, env: DimEnv, weights: ReadonlyMap<string, Tensor>, producerVersion: string): OnnxExport & { states: readonly StreamState[] } {
  const s = streamability(ir);
  if (!s.ok) throw new RnncError("RNN0801", `cannot export \`${ir.name}\` to ONNX as a stream: ${s.why}`, [], "export the whole-sequence model (without --streaming)");
  const g = new OnnxGraph(sharedState(weights));
  g.reserve([...ir.inputs.map((i) => i.name), ...ir.outputs.map((o) => o.name)]);
  const inputs: ValueInfo[] = [];
  const outputs: ValueInfo[] = [];
  const states: StreamState[] = [];
  const dims = (shape: Node["shape"], e: DimEnv) => shape.map((d) => evalDim(d, e)!);
  const layers = new Map(ir.layers.map((l) => [l.name, l]));
  const scanned = new Map<string, number>();
  const B = () => g.batch(inputs[0]!.name);
  /** One step of a layer: every state an input of the graph and its next value an output. */
  const step = (n: Node, xs: readonly string[]): Scanned<string> => {
    const l = layers.get(n.attrs.layer!)!;
    const le = layerEnv(l, env);
    const cell = optimize(l.ir);
    const k = scanned.get(l.name) ?? 0;
    scanned.set(l.name, k + 1);
    const prefix = `state.${l.name}${k ? `#${k + 1}` : ""}`;
    // Each (state, lag) gets its name once: a state named like another's older step (h and h_lag2) still gets its own.
    const lagNames = new Map<string, string>();
    const lagName = (st: string, lag: number) => {
      const key = `${st}@${lag}`;
      if (!lagNames.has(key)) lagNames.set(key, g.unique(`${prefix}.${st}${lag > 1 ? `_lag${lag}` : ""}`));
      return lagNames.get(key)!;
    };
    const nextNames = new Map<string, string>();
    const nextName = (st: string, lag: number) => {
      const key = `${st}@${lag}`;
      if (!nextNames.has(key)) nextNames.set(key, g.unique(`${lagName(st, lag)}.next`));
      return nextNames.get(key)!;
    };
    // The plain names (lag 1) first, so that a state keeps `state.L.NAME` whatever older steps other states have.
    if (n.op === Op.Scan) for (const st of cell.states) lagName(st.name, 1);
    if (n.op === Op.Scan) for (const st of cell.states) for (let lag = 1; lag <= Math.max(1, st.maxLag); lag++) {
      const shape = dims(st.shape, le);
      const start = cell.nodes[st.init]!;
      if (start.op !== Op.Const) throw new RnncError("RNN0801", `cannot export layer \`${l.name}\` to ONNX: state ${st.name} starts from a value computed from params`);
      inputs.push({ name: lagName(st.name, lag), type: tensorType(DType.FLOAT, ["batch", ...shape]) });
      states.push({ input: lagName(st.name, lag), output: nextName(st.name, lag), shape, start: start.attrs.value! });
    }
    const values = lowerStep(cell, le, g, {
      input: (name) => xs[cell.inputs.findIndex((i) => i.name === name)]!,
      state: (name, lag) => lagName(name, lag),
      batch: B,
    }, l.name);
    if (n.op === Op.Scan) for (const st of cell.states) for (let lag = 1; lag <= Math.max(1, st.maxLag); lag++) {
      g.node("Identity", [lag === 1 ? values[st.update]! : lagName(st.name, lag - 1)], [nextName(st.name, lag)]);
    }
    return { seq: values[cell.outputs[0]!.node]!, finals: new Map(cell.states.map((st) => [st.name, values[st.update]!])) };
  };
  const cannot = (what: string) => (): never => { throw new Error(`internal: ${what} in a streamable model`); };
  const v = driveModel<string>(ir, {
    input: (n) => {
      const inp = ir.inputs.find((i) => i.name === n.attrs.name)!;
      inputs.push({ name: inp.name, type: tensorType(inp.dtype === "int" ? DType.INT64 : DType.FLOAT, ["batch", ...dims(inp.shape, env)]) });
      return inp.name;
    },
    constant: (n) => lowerModelOp(g, n, [], env),
    pointwise: (n, args) => lowerModelOp(g, n, args.map((name, k) => ({ name, lead: ir.nodes[n.args[k]!]!.op === Op.Const ? 0 : 1, rank: ir.nodes[n.args[k]!]!.shape.length })), env),
    [Op.Scan]: (n, xs) => step(n, xs),
    [Op.Map]: (n, xs) => step(n, xs).seq,
    [Op.Apply]: (n, xs) => step(n, xs).seq,
    [Op.Last]: (_n, x) => x, // the newest step
    [Op.Generate]: cannot("generate"),
  });
  for (const o of ir.outputs) {
    const n = ir.nodes[o.node]!;
    g.node("Identity", [drivenValue(v[o.node]!)], [o.name]);
    outputs.push({ name: o.name, type: tensorType(n.dtype === "int" ? DType.INT64 : DType.FLOAT, ["batch", ...dims(n.shape, env)]) });
  }
  for (const st of states) outputs.push({ name: st.output, type: tensorType(DType.FLOAT, ["batch", ...st.shape]) });
  const doc = `${ir.name} from ${ir.file}, exported by rnnc as a stream: one step per call; start every state.* input at its declared value (${states.map((s) => `${s.input} = ${s.start}`).join(", ")}) and feed each .next output back`;
  const bytes = g.encode({ name: `${ir.name}_step`, input: inputs, output: outputs }, doc, producerVersion);
  return { bytes, opset: OPSET, inputs: inputs.map((i) => i.name), outputs: outputs.map((o) => o.name), states };
}
