// The stdlib's LSTM, TorchLSTM, GRU and Elman as torch's own nn.LSTM / nn.GRU / nn.RNN (cuDNN on a GPU), rnnc's params as views of theirs.
import { evalDim } from "../../ir/dims.js";
import type { CellIR, LayerInfo, Node } from "../../ir/ir.js";
import { Op } from "../../ir/ops.js";
import type { DimEnv } from "../../runtime/dims.js";
import { stdlibCell } from "../onnx/export.js";
import { pyInt } from "./python.js";

/** How a layer runs on a torch recurrent module. */
export interface NativeCell {
  /** The module made in `__init__` (as `self.rnn`). */
  readonly module: string;
  /** Each rnnc param (by its name in the cell) as an expression on `self.rnn`'s params (a slice: a view). */
  readonly views: ReadonlyMap<string, string>;
  /** torch's bias_hh_l0, where rnnc has one bias per gate: kept at zero and not trained. */
  readonly frozenHiddenBias: boolean;
  /** Whether the module carries a cell state beside h (an LSTM's c). */
  readonly lstm: boolean;
  /**
   * Set when the layer drops out its input in training (the cell's training form: its second input is the mask its
   * first is multiplied by): the caller multiplies them before the module, which is then the same computation.
   */
  readonly maskedInput?: boolean;
}

/** Row slices of a torch param holding gates side by side, in torch's gate order. */
const gates = (param: string, names: readonly string[], H: number): [string, string][] =>
  names.map((n, k) => [n, `self.rnn.${param}[${pyInt(k * H)}:${pyInt((k + 1) * H)}]`]);

/**
 * The torch module for a layer, or undefined when it has none: not a stdlib recurrent cell, an option torch's module
 * does not have (dropout inside the cell, an Elman activation other than tanh or relu), or a sequence read whole.
 */
export function nativeCell(l: LayerInfo, env: DimEnv): NativeCell | undefined {
  const masked = inputMask(l.ir) !== undefined;
  if (!stdlibCell(l) || l.ir.inputs.length !== (masked ? 2 : 1) || l.ir.inputs[0]!.shape.length !== 1 || l.ir.states[0]?.shape.length !== 1) return undefined;
  const I = evalDim(l.ir.inputs[0]!.shape[0]!, env), H = evalDim(l.ir.states[0]!.shape[0]!, env);
  if (I === undefined || H === undefined) return undefined;
  const n = nativeOf(l.ir, I, H, masked);
  return n && masked ? { ...n, maskedInput: true } : n;
}

/**
 * In a stdlib cell's training form (src/runtime/dropout.ts), the product of its input with the mask that drops it
 * out: a second input read by nothing but one product with the first. Undefined in any other cell.
 */
export function inputMask(ir: CellIR): Node | undefined {
  if (ir.inputs.length !== 2 || ir.inputs[1]!.memory !== undefined) return undefined;
  const x = ir.nodes.find((n) => n.op === Op.Input && n.attrs.name === ir.inputs[0]!.name);
  const m = ir.nodes.find((n) => n.op === Op.Input && n.attrs.name === ir.inputs[1]!.name);
  if (!x || !m) return undefined;
  const readers = ir.nodes.filter((n) => n.args.includes(m.id));
  const product = readers[0];
  return readers.length === 1 && product!.op === Op.Mul && product!.args[0] === x.id && product!.args[1] === m.id ? product : undefined;
}

/**
 * The torch module for a stdlib cell of input size I and state size H (a layer's own, or one inlined into a cell).
 * `inputDropped`: its input dropout (the `dropout` option) is done before the module (a mask multiplied in by the
 * caller); recurrent dropout never is (torch's modules have no such thing).
 */
export function nativeOf(ir: CellIR, I: number, H: number, inputDropped = false): NativeCell | undefined {
  const name = stdlibCell({ ir });
  if (!name || ir.inputs.length !== (inputDropped && inputMask(ir) ? 2 : 1)) return undefined;
  const opt = (k: string) => ir.options.get(k);
  if ((Number(opt("dropout") ?? 0) !== 0 && !inputDropped) || Number(opt("recurrent_dropout") ?? 0) !== 0) return undefined;
  const args = `${pyInt(I)}, ${pyInt(H)}, batch_first=True`;
  switch (name) {
    case "LSTM":
      return { module: `nn.LSTM(${args})`, frozenHiddenBias: true, lstm: true, views: new Map([
        ...gates("weight_ih_l0", ["W_xi", "W_xf", "W_xg", "W_xo"], H), ...gates("weight_hh_l0", ["W_hi", "W_hf", "W_hg", "W_ho"], H),
        ...gates("bias_ih_l0", ["b_i", "b_f", "b_g", "b_o"], H)]) };
    case "TorchLSTM":
      return { module: `nn.LSTM(${args})`, frozenHiddenBias: false, lstm: true, views: new Map([
        ...gates("weight_ih_l0", ["W_xi", "W_xf", "W_xg", "W_xo"], H), ...gates("weight_hh_l0", ["W_hi", "W_hf", "W_hg", "W_ho"], H),
        ...gates("bias_ih_l0", ["b_xi", "b_xf", "b_xg", "b_xo"], H), ...gates("bias_hh_l0", ["b_hi", "b_hf", "b_hg", "b_ho"], H)]) };
    case "GRU":
      return { module: `nn.GRU(${args})`, frozenHiddenBias: false, lstm: false, views: new Map([
        ...gates("weight_ih_l0", ["W_xr", "W_xz", "W_xn"], H), ...gates("weight_hh_l0", ["W_hr", "W_hz", "W_hn"], H),
        ...gates("bias_ih_l0", ["b_xr", "b_xz", "b_xn"], H), ...gates("bias_hh_l0", ["b_hr", "b_hz", "b_hn"], H)]) };
    case "Elman": {
      const act = String(opt("act") ?? "tanh");
      if (act !== "tanh" && act !== "relu") return undefined;
      return { module: `nn.RNN(${args}, nonlinearity="${act}")`, frozenHiddenBias: true, lstm: false, views: new Map([
        ["W_xh", "self.rnn.weight_ih_l0"], ["W_hh", "self.rnn.weight_hh_l0"], ["b_h", "self.rnn.bias_ih_l0"]]) };
    }
    default:
      return undefined; // GRUResetBefore: torch has no such module (a generated cell runs it)
  }
}

/**
 * The native cell's `scan` method: padded rows packed, a reverse scan reversed within each row's length, finals per
 * row. A forward scan whose final states nobody reads (`finals` false) runs unpacked, its outputs past each row's
 * length zeroed: the same outputs, without the cost of packing (as much as the layer in a training step).
 */
export function nativeScan(n: NativeCell, method = "scan"): string {
  const states = n.lstm ? ["h0", "c0"] : ["h0"];
  return [
    `    def ${method}(self, x: Tensor, lengths: Tensor, ${states.map((s) => `${s}: Tensor`).join(", ")}, reverse: bool, finals: bool = True) -> List[Tensor]:`,
    `        if x.shape[1] == 0:`,
    `            return [torch.zeros([x.shape[0], 0, ${states[0]}.shape[1]]), ${states.join(", ")}]`,
    `        if reverse:`,
    `            x = _reverse_within(x, lengths)`,
    `        full = bool((lengths == x.shape[1]).all())`,
    `        if full or not (reverse or finals):`,
    `            # every row full, or only the outputs wanted: no packing`,
    n.lstm
      ? `            y, (h, c) = self.rnn(x, (h0.unsqueeze(0).contiguous(), c0.unsqueeze(0).contiguous()))`
      : `            y, h = self.rnn(x, h0.unsqueeze(0).contiguous())`,
    `            if not full:`,
    `                y = y * _steps_mask(lengths, x.shape[1]).unsqueeze(2).to(y.dtype)`,
    `            if reverse:`,
    `                y = _reverse_within(y, lengths)`,
    n.lstm ? `            return [y, h[0], c[0]]` : `            return [y, h[0]]`,
    `        ran = lengths > 0  # a row of length 0 is packed as one step, then put back`,
    `        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)`,
    n.lstm
      ? `        out, (h, c) = self.rnn(packed, (h0.unsqueeze(0).contiguous(), c0.unsqueeze(0).contiguous()))`
      : `        out, h = self.rnn(packed, h0.unsqueeze(0).contiguous())`,
    `        y, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])`,
    `        y = y * ran.view([-1, 1, 1]).to(y.dtype)`,
    `        if reverse:`,
    `            y = _reverse_within(y, lengths)`,
    n.lstm
      ? `        return [y, _keep(ran, h[0], h0), _keep(ran, c[0], c0)]`
      : `        return [y, _keep(ran, h[0], h0)]`,
  ].join("\n");
}
