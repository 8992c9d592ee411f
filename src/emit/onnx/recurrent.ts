// A scan of a stdlib recurrent cell as ONNX's own LSTM, GRU or RNN op: gates stacked in ONNX's order, biases split.
import { RnncError } from "../../diagnostics/errors.js";
import type { LayerInfo } from "../../ir/ir.js";
import type { DimEnv } from "../../runtime/dims.js";
import type { OnnxGraph } from "./graph.js";
import { attr, DType } from "./proto.js";

/** The params stacked by rows into ONNX's [1, G·H, …] layout: W and R by gate, Wb and Rb (missing ones are zero). */
const layouts: Record<string, { W: string[]; R: string[]; Wb: string[]; Rb: (string | undefined)[]; op: string }> = {
  // ONNX LSTM gates: i, o, f, c (our g)
  LSTM: { op: "LSTM", W: ["W_xi", "W_xo", "W_xf", "W_xg"], R: ["W_hi", "W_ho", "W_hf", "W_hg"], Wb: ["b_i", "b_o", "b_f", "b_g"], Rb: [undefined, undefined, undefined, undefined] },
  // PyTorch's parametrization: ONNX's own, a bias on each product
  TorchLSTM: { op: "LSTM", W: ["W_xi", "W_xo", "W_xf", "W_xg"], R: ["W_hi", "W_ho", "W_hf", "W_hg"], Wb: ["b_xi", "b_xo", "b_xf", "b_xg"], Rb: ["b_hi", "b_ho", "b_hf", "b_hg"] },
  // ONNX GRU gates: z, r, h (our n); linear_before_reset = 1 is rnnc's GRU (reset applied after the recurrent product)
  GRU: { op: "GRU", W: ["W_xz", "W_xr", "W_xn"], R: ["W_hz", "W_hr", "W_hn"], Wb: ["b_xz", "b_xr", "b_xn"], Rb: ["b_hz", "b_hr", "b_hn"] },
  GRUResetBefore: { op: "GRU", W: ["W_xz", "W_xr", "W_xn"], R: ["W_hz", "W_hr", "W_hn"], Wb: ["b_z", "b_r", "b_n"], Rb: [undefined, undefined, undefined] },
  Elman: { op: "RNN", W: ["W_xh"], R: ["W_hh"], Wb: ["b_h"], Rb: [undefined] },
};

const activations: Record<string, string> = { tanh: "Tanh", relu: "Relu", sigmoid: "Sigmoid", "σ": "Sigmoid" };

/**
 * `x` [batch, time, I] (with int64 `lengths` [batch]) through the layer's scan, its states started from `init` (each
 * [batch, H], in the cell's order: h, then an LSTM's c) when given; returns the outputs [batch, time, H] and the final
 * states when asked for (ONNX's Y_h and Y_c, [batch, H] each).
 */
export function recurrentOp(cell: string, l: LayerInfo, env: DimEnv, x: string, lengths: string, reverse: boolean, e: OnnxGraph, init: readonly string[] | undefined, wantFinals: boolean): { ys: string; finals: string[] } {
  const lay = layouts[cell]!;
  const H = env.get("H")!, I = env.get("I")!;
  const stack = (names: readonly (string | undefined)[], cols: number): Float32Array => {
    const out = new Float32Array(names.length * H * cols);
    names.forEach((p, k) => { if (p) out.set(e.weight(l.name, p).data, k * H * cols); });
    return out;
  };
  const G = lay.W.length;
  const W = e.init(`${l.name}_W`, [1, G * H, I], stack(lay.W, I));
  const R = e.init(`${l.name}_R`, [1, G * H, H], stack(lay.R, H));
  const bias = new Float32Array(2 * G * H);
  bias.set(stack(lay.Wb, 1), 0);
  bias.set(stack(lay.Rb, 1), G * H);
  const B = e.init(`${l.name}_B`, [1, 2 * G * H], bias);
  const place = (names: readonly (string | undefined)[], init: string, block: number, base = 0) =>
    names.forEach((p, k) => { if (p) e.place(`${l.name}.${p}`, { init, offset: base + k * block, transposed: false }); });
  place(lay.W, W, H * I);
  place(lay.R, R, H * H);
  place(lay.Wb, B, H);
  place(lay.Rb, B, H, G * H);
  const attrs = [attr("hidden_size", H), attr("direction", reverse ? "reverse" : "forward")];
  if (cell === "GRU") attrs.push(attr("linear_before_reset", 1));
  if (cell === "Elman") {
    const act = String(l.ir.options.get("act") ?? "tanh");
    if (!activations[act]) throw new RnncError("RNN0801", `cannot export layer \`${l.name}\` to ONNX: Elman with act = ${act}`, ["ONNX's RNN op takes Tanh, Relu or Sigmoid here"]);
    attrs.push(attr("activations", [activations[act]!]));
  }
  const [xt] = e.node("Transpose", [x], 1, [attr("perm", [1, 0, 2])]);
  const [lens] = e.node("Cast", [lengths], 1, [attr("to", DType.INT32)]);
  // ONNX's states have a leading directions axis: [1, batch, H].
  const axis0 = () => e.init("axis0", [1], [0], DType.INT64);
  const starts = (init ?? []).map((s) => e.node("Unsqueeze", [s, axis0()])[0]!);
  const [Y, ...finals] = e.node(lay.op, [xt!, W, R, B, lens!, ...starts], 1 + (wantFinals ? l.ir.states.length : 0), attrs);
  const [y] = e.node("Squeeze", [Y!, e.init("axis1", [1], [1], DType.INT64)]);
  return {
    ys: e.node("Transpose", [y!], 1, [attr("perm", [1, 0, 2])])[0]!,
    finals: finals.map((f) => e.node("Squeeze", [f, axis0()])[0]!),
  };
}
