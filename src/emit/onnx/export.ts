// `rnnc compile --target onnx`: a model as a standard ONNX graph. Scans of the stdlib LSTM, GRU, GRUResetBefore and
// Elman become ONNX's own recurrent ops; any other cell becomes a Scan whose body is its step; what cannot be exported
// yet is a coded error naming the construct.
import { RnncError } from "../../diagnostics/errors.js";
import { evalDim } from "../../ir/dims.js";
import type { LayerInfo, ModelIR, Node } from "../../ir/ir.js";
import { Op } from "../../ir/ops.js";
import { layerEnv, type DimEnv } from "../../runtime/dims.js";
import type { Tensor } from "../../runtime/tensor.js";
import { OnnxGraph, sharedState } from "./graph.js";
import { attr, DType, OPSET, tensorType, type ValueInfo } from "./proto.js";
import { recurrentOp } from "./recurrent.js";
import { scanOp } from "./scan.js";
import { lowerStep } from "./step.js";
import { generateOp } from "./generate.js";
import { lowerModelOp } from "./pointwise.js";

const cannot = (what: string, why: string): RnncError =>
  new RnncError("RNN0801", `cannot export ${what} to ONNX: ${why}`, ["exported today: scan and map of any cell (with init, reverse and lengths), apply, last, final and its fields, greedy generate"], "run it with rnnc run or compile it to js or tfjs instead");

/** Params each exported stdlib cell has (a cell of that name elsewhere, or changed, is not taken for it). */
const stdlibParams: Record<string, readonly string[]> = {
  LSTM: ["W_xi", "W_xf", "W_xg", "W_xo", "W_hi", "W_hf", "W_hg", "W_ho", "b_i", "b_f", "b_g", "b_o"],
  GRU: ["W_xz", "W_xr", "W_xn", "W_hz", "W_hr", "W_hn", "b_xz", "b_xr", "b_xn", "b_hz", "b_hr", "b_hn"],
  GRUResetBefore: ["W_xz", "W_xr", "W_xn", "W_hz", "W_hr", "W_hn", "b_z", "b_r", "b_n"],
  Elman: ["W_xh", "W_hh", "b_h"],
};

/** Which stdlib recurrent cell a layer is (by name, from the standard library's files, with its params), or undefined. */
export function stdlibCell(l: LayerInfo): string | undefined {
  const fromStdlib = /(^|[\\/])(stdlib|std)[\\/][a-z-]+\.rnn$/.test(l.ir.file);
  const params = stdlibParams[l.ir.name];
  const same = params !== undefined && params.length === l.ir.params.length && params.every((p) => l.ir.params.some((q) => q.name === p));
  return fromStdlib && same ? l.ir.name : undefined;
}

export interface OnnxExport { readonly bytes: Uint8Array; readonly opset: number; readonly inputs: readonly string[]; readonly outputs: readonly string[] }

/** A value of the model graph: one [batch, …], a sequence [batch, time, …] with its lengths, or a scan's final states. */
type Value = { kind: "one"; name: string } | { kind: "seq"; name: string; lengths: string } | { kind: "states"; names: readonly string[] };

export function exportOnnx(ir: ModelIR, env: DimEnv, weights: ReadonlyMap<string, Tensor>, producerVersion: string): OnnxExport {
  const g = new OnnxGraph(sharedState(weights));
  const inputs: ValueInfo[] = [];
  const dims = (shape: Node["shape"]) => shape.map((d) => evalDim(d, env)!);
  const v: Value[] = [];
  const layers = new Map(ir.layers.map((l) => [l.name, l]));
  const layerOf = (n: Node) => layers.get(n.attrs.layer!)!;
  /** The final states of each exported scan (by node), for `final`. */
  const finals = new Map<number, readonly string[]>();
  const finalsUsed = new Set(ir.nodes.filter((n) => n.op === Op.Final).map((n) => n.args[0]!));
  const seq = (id: number) => { const x = v[id]!; if (x.kind !== "seq") throw new Error("internal: not a sequence"); return x; };
  const one = (id: number) => { const x = v[id]!; if (x.kind !== "one") throw new Error("internal: not a single value"); return x.name; };
  /** The starting states an `init = …` argument gives (a scan's final states, or one value for a one-state cell). */
  const initFrom = (arg: number | undefined): readonly string[] | undefined => {
    if (arg === undefined) return undefined;
    const x = v[arg]!;
    return x.kind === "states" ? x.names : x.kind === "one" ? [x.name] : undefined;
  };

  for (const n of ir.nodes) {
    switch (n.op) {
      case Op.Input: {
        const inp = ir.inputs.find((i) => i.name === n.attrs.name)!;
        inputs.push({ name: inp.name, type: tensorType(inp.dtype === "int" ? DType.INT64 : DType.FLOAT, ["batch", ...(inp.seq ? [inp.seq] : []), ...dims(inp.shape)]) });
        if (!inp.seq) { v[n.id] = { kind: "one", name: inp.name }; break; }
        const lengths = `${inp.name}_lengths`;
        inputs.push({ name: lengths, type: tensorType(DType.INT64, ["batch"]) });
        v[n.id] = { kind: "seq", name: inp.name, lengths };
        break;
      }
      case Op.Scan: case Op.Map: {
        const l = layerOf(n);
        const nIn = l.ir.inputs.length;
        const xs = n.args.slice(0, nIn).map((a) => seq(a));
        const init = initFrom(n.attrs.hasInit ? n.args[n.args.length - 1] : undefined);
        const cell = stdlibCell(l);
        if (n.op === Op.Scan && cell) {
          const r = recurrentOp(cell, l, layerEnv(l, env), xs[0]!.name, xs[0]!.lengths, n.attrs.reverse === true, g, init, finalsUsed.has(n.id));
          v[n.id] = { kind: "seq", name: r.ys, lengths: xs[0]!.lengths };
          finals.set(n.id, r.finals);
          break;
        }
        const r = scanOp(g, l, layerEnv(l, env), xs.map((x) => x.name), xs[0]!.lengths, n.attrs.reverse === true, init);
        v[n.id] = { kind: "seq", name: r.ys, lengths: xs[0]!.lengths };
        finals.set(n.id, r.finals);
        break;
      }
      case Op.Apply: {
        const l = layerOf(n);
        if (l.ir.states.length) throw cannot(`apply of layer \`${l.name}\``, "a layer with states applied to a single value");
        const xs = n.args.slice(0, l.ir.inputs.length).map((a) => one(a));
        const step = lowerStep(l.ir, layerEnv(l, env), g, {
          input: (name) => xs[l.ir.inputs.findIndex((i) => i.name === name)]!,
          state: () => { throw new Error("internal: a stateless layer read a state"); },
          batch: () => g.batch(xs[0]!),
        }, l.name);
        v[n.id] = { kind: "one", name: step[l.ir.outputs[0]!.node]! };
        break;
      }
      case Op.Generate: {
        const l = layerOf(n);
        const init = initFrom(n.attrs.hasInit ? n.args[0] : undefined);
        const start = n.dtype === "int" ? undefined : one(n.args[n.attrs.hasInit ? 1 : 0]!);
        const r = generateOp(g, n, l, layerEnv(l, env), g.batch(init?.[0] ?? start ?? inputs[0]!.name), init, start);
        v[n.id] = { kind: "seq", name: r.ys, lengths: r.lengths };
        finals.set(n.id, r.finals);
        break;
      }
      case Op.Final: {
        const f = finals.get(n.args[0]!);
        if (!f) throw cannot("`final`", "of something other than a scan");
        v[n.id] = { kind: "states", names: f };
        break;
      }
      case Op.States: v[n.id] = { kind: "states", names: n.args.map(one) }; break;
      case Op.Field: {
        const rec = v[n.args[0]!]!;
        const src = ir.nodes[n.args[0]!]!;
        const l = layers.get(ir.nodes[src.args[0]!]!.attrs.layer!)!;
        if (rec.kind !== "states") throw new Error("internal: a field of something other than states");
        v[n.id] = { kind: "one", name: rec.names[l.ir.states.findIndex((s) => s.name === n.attrs.name)]! };
        break;
      }
      case Op.Last: {
        // Each example's step at index length-1: GatherND over [batch, time, …] with indices [batch, 1].
        const s = seq(n.args[0]!);
        const idx = g.node("Unsqueeze", [g.node("Sub", [s.lengths, g.ints([1], true)])[0]!, g.ints([1])])[0]!;
        v[n.id] = { kind: "one", name: g.node("GatherND", [s.name, idx], 1, [attr("batch_dims", 1)])[0]! };
        break;
      }
      default: {
        // An op between layers: on single values, sequences (each step) or constants.
        const operand = (a: number) => {
          const x = v[a]!;
          if (x.kind === "states") throw cannot(`\`${n.op}\` of a record of states`, "take one state with a field, e.g. `final(s).h`");
          return { name: x.name, lead: ir.nodes[a]!.op === Op.Const ? 0 : x.kind === "seq" ? 2 : 1, rank: ir.nodes[a]!.shape.length };
        };
        if (n.op === Op.Const) { v[n.id] = { kind: "one", name: lowerModelOp(g, n, [], env) }; break; }
        const name = lowerModelOp(g, n, n.args.map(operand), env);
        const s = n.args.map((a) => v[a]!).find((x) => x.kind === "seq");
        v[n.id] = s && s.kind === "seq" ? { kind: "seq", name, lengths: s.lengths } : { kind: "one", name };
      }
    }
  }
  const outputs: ValueInfo[] = ir.outputs.map((o) => {
    const n = ir.nodes[o.node]!;
    const x = v[o.node]!;
    if (x.kind === "states") throw cannot(`output \`${o.name}\` (a record of states)`, "output each state as its own field, e.g. `final(s).h`");
    g.node("Identity", [x.name], [o.name]);
    return [{ name: o.name, type: tensorType(n.dtype === "int" ? DType.INT64 : DType.FLOAT, ["batch", ...(n.seq ? [n.seq] : []), ...dims(n.shape)]) },
      // A sequence's lengths beside it (generated sequences end where each example produced its end token).
      ...(x.kind === "seq" ? [lengthsOutput(o.name, x.lengths)] : [])];
  }).flat();
  function lengthsOutput(name: string, lengths: string): ValueInfo {
    g.node("Identity", [lengths], [`${name}_lengths`]);
    return { name: `${name}_lengths`, type: tensorType(DType.INT64, ["batch"]) };
  }
  const bytes = g.encode({ name: ir.name, input: inputs, output: outputs }, `${ir.name} from ${ir.file}, exported by rnnc`, producerVersion);
  return { bytes, opset: OPSET, inputs: inputs.map((i) => i.name), outputs: outputs.map((o) => o.name) };
}
