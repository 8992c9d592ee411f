// `generate` as ONNX's Loop: the cell's step fed its own greedy choice (or its output), every example run for all
// steps with its own end (`until`) tracked, as the interpreter does: the end token is not emitted, later steps are zero.
import { RnncError } from "../../diagnostics/errors.js";
import { evalDim } from "../../ir/dims.js";
import type { CellIR, LayerInfo, Node } from "../../ir/ir.js";
import { optimize } from "../../passes/pipeline.js";
import type { DimEnv } from "../../runtime/dims.js";
import { OnnxGraph } from "./graph.js";
import { attr, DType, tensorType } from "./proto.js";
import { lowerStep } from "./step.js";
import { wholeLeaves, type Wholes } from "./whole.js";
import { beamGenerateOp } from "./beam.js";

export interface GenerateResult { readonly ys: string; readonly lengths: string; readonly finals: readonly string[] }

/** `B`: the batch size as int64 [1]; `init`: each state's start [batch, …]; `start`: the first input [batch, …] (values). */
export function generateOp(g: OnnxGraph, n: Node, l: LayerInfo, env: DimEnv, B: string, init: readonly string[] | undefined, start: string | undefined, wholes: Wholes = new Map()): GenerateResult {
  const cell: CellIR = optimize(l.ir);
  const whole = wholeLeaves(cell, wholes);
  if (cell.inputs.length !== 1 + wholes.size) throw new RnncError("RNN0801", `cannot export generate of layer \`${l.name}\` to ONNX: its cell has ${cell.inputs.length} inputs`);
  if (cell.states.some((s) => s.maxLag > 1)) throw new RnncError("RNN0801", `cannot export generate of layer \`${l.name}\` to ONNX: its cell reads a state more than one step back`);
  const tokens = n.dtype === "int";
  if (tokens && (n.attrs.temperature ?? 0) > 0) throw new RnncError("RNN0801", `cannot export generate of layer \`${l.name}\` to ONNX: sampling (temperature ${n.attrs.temperature}) draws from rnnc's own random numbers`, [], "export greedy generation (temperature = 0)");
  const shapeOf = (s: { shape: Node["shape"] }) => s.shape.map((d) => evalDim(d, env)!);
  const expand = (value: number, shape: number[], type: number = DType.FLOAT) =>
    g.node("Expand", [g.init("c", [], [value], type), g.node("Concat", [B, g.ints(shape)], 1, [attr("axis", 0)])[0]!])[0]!;
  const starts = cell.states.map((s, k) => init?.[k] ?? expand(cell.nodes[s.init]!.attrs.value ?? 0, shapeOf(s)));
  const x0 = tokens ? expand(n.attrs.startToken!, [], DType.INT64) : start!;
  const done0 = g.node("Cast", [expand(0, [], DType.INT64)], 1, [attr("to", DType.BOOL)])[0]!;
  const len0 = expand(0, [], DType.INT64);
  if (tokens && (n.attrs.beam ?? 1) > 1) return beamGenerateOp(g, n, cell, l, env, B, starts, x0, wholes);

  const body = new OnnxGraph(g.shared);
  const iter = body.fresh("iter"), condIn = body.fresh("cond");
  const stateIn = cell.states.map((s) => body.fresh(s.name));
  const xIn = body.fresh("x"), doneIn = body.fresh("done"), lenIn = body.fresh("length");
  const v = lowerStep(cell, env, body, {
    input: (name) => whole.value(name) ?? xIn,
    state: (name) => stateIn[cell.states.findIndex((s) => s.name === name)]!,
    batch: () => body.batch(doneIn),
    mask: whole.mask,
  }, l.name);
  const running = body.node("Not", [doneIn])[0]!;
  const keep = (value: string, rank: number, old: string) => {
    const m = rank ? body.node("Unsqueeze", [running, body.ints(Array.from({ length: rank }, (_, k) => k + 1))])[0]! : running;
    return body.node("Where", [m, value, old])[0]!;
  };
  const stateOut = cell.states.map((s, k) => keep(v[s.update]!, s.shape.length, stateIn[k]!));
  const y = v[cell.outputs[0]!.node]!;
  let xOut: string, doneOut: string, emitted: string;
  if (tokens) {
    const next = body.node("ArgMax", [y], 1, [attr("axis", -1), attr("keepdims", 0)])[0]!;
    const ended = body.node("Equal", [next, body.ints([n.attrs.until ?? -1], true)])[0]!;
    doneOut = body.node("Or", [doneIn, ended])[0]!;
    xOut = next;
    emitted = body.node("Where", [doneOut, body.ints([0], true), next])[0]!;
  } else {
    doneOut = body.node("Identity", [doneIn])[0]!;
    xOut = y;
    emitted = y;
  }
  const lenOut = body.node("Add", [lenIn, body.node("Cast", [body.node("Not", [doneOut])[0]!], 1, [attr("to", DType.INT64)])[0]!])[0]!;
  const condOut = body.node("Identity", [condIn])[0]!;
  const typed = (name: string, elem: number) => ({ name, type: { tensor_type: { elem_type: elem } } });
  const xType = tokens ? DType.INT64 : DType.FLOAT;
  const graph = {
    name: `${l.name}_generate`,
    node: body.nodes,
    input: [{ name: iter, type: tensorType(DType.INT64, []) }, { name: condIn, type: tensorType(DType.BOOL, []) }, ...stateIn.map((s) => typed(s, DType.FLOAT)), typed(xIn, xType), typed(doneIn, DType.BOOL), typed(lenIn, DType.INT64)],
    output: [typed(condOut, DType.BOOL), ...stateOut.map((s) => typed(s, DType.FLOAT)), typed(xOut, xType), typed(doneOut, DType.BOOL), typed(lenOut, DType.INT64), typed(emitted, xType)],
  };
  const trip = g.ints([n.attrs.steps!], true);
  const cond = g.node("Cast", [g.ints([1], true)], 1, [attr("to", DType.BOOL)])[0]!;
  const outs = g.node("Loop", [trip, cond, ...starts, x0, done0, len0], cell.states.length + 4, [attr("body", { graph })]);
  const k = cell.states.length;
  // The scan output is [steps, batch, …]: batch first, as everything else.
  const rank = tokens ? 0 : cell.nodes[cell.outputs[0]!.node]!.shape.length;
  const ys = g.node("Transpose", [outs[k + 3]!], 1, [attr("perm", [1, 0, ...Array.from({ length: rank }, (_, j) => j + 2)])])[0]!;
  // Lengths count the steps before each example's end (every step, for generation without an end token).
  return { ys, lengths: outs[k + 2]!, finals: outs.slice(0, k) };
}

