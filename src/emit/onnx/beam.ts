// `generate(…, beam = K)` as ONNX's Loop: src/runtime/beam.ts's search on fixed-size tensors, K hypotheses an example.
import { evalDim } from "../../ir/dims.js";
import type { CellIR, LayerInfo, Node } from "../../ir/ir.js";
import { Op } from "../../ir/ops.js";
import type { DimEnv } from "../../runtime/dims.js";
import { OnnxGraph } from "./graph.js";
import { attr, DType, tensorType } from "./proto.js";
import { lowerStep } from "./step.js";
import type { Wholes } from "./whole.js";
import { wholeLeaves } from "./whole.js";

/** Below every real log-probability: a slot with no hypothesis. */
const NONE = -1e30;

/**
 * The same search as beamSearch, every example at once: the live hypotheses in K slots (rows b·K + j of the states),
 * the finished in K more; each step the best 2K extensions (ONNX's TopK puts equal scores in index order: the earlier
 * hypothesis, then the lower token, as the interpreter's ties go), taken in rank order by exclusive cumulative sums
 * (an ending among the first K finishes, the rest stay live up to K, until K have finished). At the end the finished
 * and (for an example not done) live hypotheses are ranked by log p / n^α, the first best kept.
 */
export function beamGenerateOp(g: OnnxGraph, n: Node, cell: CellIR, l: LayerInfo, env: DimEnv, B: string, starts: readonly string[], x0: string, wholes: Wholes):
  { readonly ys: string; readonly lengths: string; readonly finals: readonly string[] } {
  const K = n.attrs.beam!, N = n.attrs.steps!, until = n.attrs.until ?? -1, alpha = n.attrs.lengthNorm ?? 0;
  const probabilities = cell.nodes[cell.outputs[0]!.node]!.op === Op.Softmax;
  const V = evalDim(cell.nodes[cell.outputs[0]!.node]!.shape[0]!, env)!;
  const dimsOf = (st: CellIR["states"][number]) => st.shape.map((d) => evalDim(d, env)!);
  const K2 = 2 * K;
  const rank = (s: CellIR["states"][number]) => s.shape.length;
  // Each example's rows repeated K times: [B, …] → [B·K, …].
  const repeat = (x: string, r: number) => {
    const e = g.node("Unsqueeze", [x, g.ints([1])])[0]!;
    const shape = g.node("Shape", [x])[0]!;
    const rest = g.node("Slice", [shape, g.ints([1]), g.ints([1 + r])])[0]!;
    const big = g.node("Expand", [e, g.node("Concat", [B, g.ints([K]), rest], 1, [attr("axis", 0)])[0]!])[0]!;
    return g.node("Reshape", [big, g.node("Concat", [g.ints([-1]), rest], 1, [attr("axis", 0)])[0]!])[0]!;
  };
  const wholeRank = (name: string) => cell.inputs.find((i) => i.name === name)!.shape.length;
  const repWholes: Wholes = new Map([...wholes].map(([name, w]) => [name, { value: repeat(w.value, wholeRank(name)), mask: repeat(w.mask, 1) }]));
  const full = (value: number, dims: string, type: number = DType.FLOAT) => g.node("Expand", [g.init("c", [], [value], type), dims])[0]!;
  const dimsBK = g.node("Concat", [B, g.ints([K])], 1, [attr("axis", 0)])[0]!;
  const dimsBKN = g.node("Concat", [B, g.ints([K, N])], 1, [attr("axis", 0)])[0]!;
  const bool = (x: string) => g.node("Cast", [x], 1, [attr("to", DType.BOOL)])[0]!;
  // Slot 0 of each example is the start; the other live slots are empty.
  const slot0 = g.init("slot0", [K], Array.from({ length: K }, (_, j) => (j === 0 ? 1 : 0)), DType.INT64);
  const live0 = bool(g.node("Mul", [full(1, dimsBK, DType.INT64), slot0])[0]!);
  const carried0 = [
    ...starts.map((s, k) => repeat(s, rank(cell.states[k]!))), repeat(x0, 0),
    full(0, dimsBK), live0, full(0, dimsBKN, DType.INT64), // live: log p, whether a slot holds one, tokens
    full(0, dimsBKN, DType.INT64), full(0, dimsBK, DType.INT64), full(NONE, dimsBK), bool(full(0, dimsBK, DType.INT64)), // finished: tokens, count, log p, held
    ...starts.map((s, k) => repeat(s, rank(cell.states[k]!))), bool(full(0, B, DType.INT64)),
  ];

  const b = new OnnxGraph(g.shared);
  const iter = b.fresh("iter"), condIn = b.fresh("cond");
  const S = cell.states.length;
  const stIn = cell.states.map((s) => b.fresh(s.name)), tokIn = b.fresh("token");
  const [logpIn, liveIn, histIn, fTokIn, fLenIn, fLogpIn, fHeldIn] = ["logp", "live", "tokens", "f_tokens", "f_length", "f_logp", "f_held"].map((h) => b.fresh(h)) as [string, string, string, string, string, string, string];
  const fStIn = cell.states.map((s) => b.fresh(`f_${s.name}`)), doneIn = b.fresh("done");
  const node = (op: string, inputs: string[], attrs: object[] = []) => b.node(op, inputs, 1, attrs)[0]!;
  const i64 = (x: string) => node("Cast", [x], [attr("to", DType.INT64)]);
  const isTrue = (x: string) => node("Cast", [x], [attr("to", DType.BOOL)]);
  const f32 = (x: string) => node("Cast", [x], [attr("to", DType.FLOAT)]);
  const unsq = (x: string, axes: number[]) => node("Unsqueeze", [x, b.ints(axes)]);
  const whole = wholeLeaves(cell, repWholes);
  const v = lowerStep(cell, env, b, {
    input: (name) => whole.value(name) ?? tokIn,
    state: (name) => stIn[cell.states.findIndex((s) => s.name === name)]!,
    batch: () => b.batch(tokIn),
    mask: whole.mask,
  }, l.name);
  const y = v[cell.outputs[0]!.node]!;
  const lp = probabilities ? node("Log", [node("Add", [y, b.init("c", [], [1e-7])])]) : node("LogSoftmax", [y], [attr("axis", -1)]);
  // Every extension of every live hypothesis: [B, K·V], empty slots at NONE.
  const cand = node("Where", [unsq(liveIn, [2]), node("Add", [unsq(logpIn, [2]), node("Reshape", [lp, b.ints([-1, K, V])])]), b.init("c", [], [NONE])]);
  const [vals, idx] = b.node("TopK", [node("Reshape", [cand, b.ints([0, K * V])]), b.ints([K2])], 2, [attr("axis", -1), attr("largest", 1), attr("sorted", 1)]) as [string, string];
  const parent = node("Div", [idx, b.ints([V], true)]), token = node("Mod", [idx, b.ints([V], true)]);
  const real = node("Greater", [vals, b.init("c", [], [NONE / 2])]);
  const ends = node("Equal", [token, b.ints([until], true)]);
  const firstK = b.init("first_k", [K2], Array.from({ length: K2 }, (_, r) => (r < K ? 1 : 0)), DType.INT64);
  const stays = node("And", [real, node("Not", [ends])]);
  const finishes = node("And", [node("And", [real, ends]), isTrue(firstK)]);
  const running = unsq(node("Not", [doneIn]), [1]);
  // In rank order, while fewer than K stay live and fewer than K have finished (the counts only grow, so a rank is
  // taken exactly when the counts before it allow).
  const before = (x: string) => node("CumSum", [i64(x), b.ints([1], true)], [attr("exclusive", 1)]);
  const liveBefore = before(stays);
  const finBefore = node("Add", [before(finishes), node("ReduceSum", [i64(fHeldIn), b.ints([1])], [attr("keepdims", 1)])]);
  const taken = node("And", [node("And", [node("Less", [liveBefore, b.ints([K], true)]), node("Less", [finBefore, b.ints([K], true)])]), running]);
  const slots = b.init("slots", [1, K, 1], Array.from({ length: K }, (_, j) => j), DType.INT64);
  /** The ranks `which` places at slot `at` (a position counted over the ranks): whether each slot got one, and its rank. */
  const place = (which: string, at: string): [string, string] => {
    const m = f32(node("And", [unsq(node("And", [taken, which]), [1]), node("Equal", [unsq(at, [1]), slots])]));
    return [isTrue(node("ReduceMax", [m], [attr("axes", [2]), attr("keepdims", 0)])), node("ArgMax", [m], [attr("axis", 2), attr("keepdims", 0)])];
  };
  const pick = (x: string, r: string) => node("GatherElements", [x, r], [attr("axis", 1)]);
  const rowBase = node("Mul", [unsq(node("Range", [b.ints([0], true), node("Squeeze", [b.batch(doneIn), b.ints([0])]), b.ints([1], true)]), [1]), b.ints([K], true)]);
  const rowsOf = (parents: string) => node("Reshape", [node("Add", [rowBase, parents]), b.ints([-1])]);
  const histRows = node("Reshape", [histIn, b.ints([-1, N])]);
  const keepRows = (mask: string, r: number, value: string, old: string) => node("Where", [r ? unsq(mask, Array.from({ length: r }, (_, k) => k + 1)) : mask, value, old]);
  const runningRows = node("Reshape", [node("Expand", [running, dimsBK]), b.ints([-1])]);

  const [filled, src] = place(stays, liveBefore);
  const liveRows = rowsOf(pick(parent, src));
  const newToken = pick(token, src);
  const column = node("Equal", [b.init("cols", [N], Array.from({ length: N }, (_, k) => k), DType.INT64), iter]);
  const histNew = node("Reshape", [node("Where", [column, node("Reshape", [newToken, b.ints([-1, 1])]), node("Gather", [histRows, liveRows], [attr("axis", 0)])]), b.ints([-1, K, N])]);
  const stOut = cell.states.map((s, k) => keepRows(runningRows, rank(s), node("Gather", [v[s.update]!, liveRows], [attr("axis", 0)]), stIn[k]!));
  const tokOut = node("Where", [runningRows, node("Reshape", [newToken, b.ints([-1])]), tokIn]);
  // (Where of booleans is missing from onnxruntime's kernels: chosen with And and Or.)
  const liveOut = node("Or", [node("And", [running, filled]), node("And", [node("Not", [running]), liveIn])]);
  const logpOut = node("Where", [running, node("Where", [filled, pick(vals, src), b.init("c", [], [NONE])]), logpIn]);
  const histOut = node("Where", [unsq(running, [2]), histNew, histIn]);

  const [fFilled, fSrc] = place(finishes, finBefore);
  const finRows = rowsOf(pick(parent, fSrc));
  const fFilledRows = node("Reshape", [fFilled, b.ints([-1])]);
  const fTokOut = node("Where", [unsq(fFilled, [2]), node("Reshape", [node("Gather", [histRows, finRows], [attr("axis", 0)]), b.ints([-1, K, N])]), fTokIn]);
  const fLenOut = node("Where", [fFilled, node("Expand", [iter, dimsBK]), fLenIn]);
  const fLogpOut = node("Where", [fFilled, pick(vals, fSrc), fLogpIn]);
  const fHeldOut = node("Or", [fHeldIn, fFilled]);
  const fStOut = cell.states.map((s, k) => keepRows(fFilledRows, rank(s), node("Gather", [v[s.update]!, finRows], [attr("axis", 0)]), fStIn[k]!));
  const count = (x: string) => node("ReduceSum", [i64(x), b.ints([1])], [attr("keepdims", 0)]);
  const doneOut = node("Or", [doneIn, node("Or", [node("GreaterOrEqual", [count(fHeldOut), b.ints([K], true)]), node("Equal", [count(liveOut), b.ints([0], true)])])]);
  const condOut = node("Equal", [node("ReduceMin", [i64(doneOut)], [attr("keepdims", 0)]), b.ints([0], true)]);

  const f = DType.FLOAT, i = DType.INT64, bo = DType.BOOL;
  const typed = (name: string, elem: number) => ({ name, type: { tensor_type: { elem_type: elem } } });
  const carriedIn = [...stIn.map((s) => typed(s, f)), typed(tokIn, i), typed(logpIn, f), typed(liveIn, bo), typed(histIn, i), typed(fTokIn, i), typed(fLenIn, i), typed(fLogpIn, f), typed(fHeldIn, bo), ...fStIn.map((s) => typed(s, f)), typed(doneIn, bo)];
  const carriedOut = [...stOut.map((s) => typed(s, f)), typed(tokOut, i), typed(logpOut, f), typed(liveOut, bo), typed(histOut, i), typed(fTokOut, i), typed(fLenOut, i), typed(fLogpOut, f), typed(fHeldOut, bo), ...fStOut.map((s) => typed(s, f)), typed(doneOut, bo)];
  const graph = {
    name: `${l.name}_beam`, node: b.nodes,
    input: [{ name: iter, type: tensorType(DType.INT64, []) }, { name: condIn, type: tensorType(DType.BOOL, []) }, ...carriedIn],
    output: [typed(condOut, DType.BOOL), ...carriedOut],
  };
  const outs = g.node("Loop", [g.ints([N], true), bool(g.ints([1], true)), ...carried0], carried0.length, [attr("body", { graph })]);
  const liveSt = outs.slice(0, S), [, logp, live, hist, fTok, fLen, fLogp, fHeld] = outs.slice(S, S + 8) as string[];
  const fSt = outs.slice(S + 8, 2 * S + 8), done = outs[2 * S + 8]!;

  // The finished hypotheses, then (for an example not done at N steps) the live ones, by log p / n^α; the first best.
  const gn = (op: string, inputs: string[], attrs: object[] = []) => g.node(op, inputs, 1, attrs)[0]!;
  const norm = (lp: string, emitted: () => string) => (alpha === 0 ? lp : gn("Div", [lp, gn("Pow", [gn("Cast", [emitted()], [attr("to", DType.FLOAT)]), g.init("c", [], [alpha])])]));
  const none = g.init("c", [], [NONE]);
  const liveUsable = gn("And", [live!, gn("Unsqueeze", [gn("Not", [done]), g.ints([1])])]);
  const scores = gn("Concat", [gn("Where", [fHeld!, norm(fLogp!, () => gn("Add", [fLen!, g.ints([1], true)])), none]), gn("Where", [liveUsable, norm(logp!, () => g.ints([N], true)), none])], [attr("axis", 1)]);
  const best = gn("ArgMax", [scores], [attr("axis", 1), attr("keepdims", 1)]);
  const tokens = gn("Squeeze", [gn("GatherElements", [gn("Concat", [fTok!, hist!], [attr("axis", 1)]), gn("Expand", [gn("Unsqueeze", [best, g.ints([2])]), gn("Concat", [B, g.ints([1, N])], [attr("axis", 0)])])], [attr("axis", 1)]), g.ints([1])]);
  const lengths = gn("Squeeze", [gn("GatherElements", [gn("Concat", [fLen!, full(N, dimsBK, DType.INT64)], [attr("axis", 1)]), best], [attr("axis", 1)]), g.ints([1])]);
  const bestRows = gn("Add", [gn("Mul", [gn("Range", [g.ints([0], true), gn("Squeeze", [B, g.ints([0])]), g.ints([1], true)]), g.ints([K2], true)]), gn("Squeeze", [best, g.ints([1])])]);
  const finals = cell.states.map((s, k) => {
    const d = dimsOf(s);
    const both = gn("Concat", [gn("Reshape", [fSt[k]!, g.ints([-1, K, ...d])]), gn("Reshape", [liveSt[k]!, g.ints([-1, K, ...d])])], [attr("axis", 1)]);
    return gn("Gather", [gn("Reshape", [both, g.ints([-1, ...d])]), bestRows], [attr("axis", 0)]);
  });
  return { ys: tokens, lengths, finals };
}
