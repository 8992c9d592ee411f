// Masked reductions made explicit: a softmax, log_softmax, sum or mean over a sequence read whole multiplies by its mask, an input.
import { dimVar } from "../ir/dims.js";
import { lengthSymbols, maskedOver, maskInputName } from "../ir/whole-inputs.js";
import type { CellIR, InputInfo, Node, NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { copy, rebuild, type Emitter } from "./rebuild.js";

/** Far enough below any score that its exponential is 0 in float32. */
const SHUT = 1e30;

/**
 * The cell with each masked reduction written with the mask as a value, so that a backend running the ops as they are
 * (and the VJP built from them) leaves the padding out in both directions: sum(x) is sum(x·m), mean(x) is
 * sum(x·m) / sum(m), softmax(x) is softmax(x·m − (1 − m)·10³⁰)·m and log_softmax likewise without the last product.
 * Gradients into padded positions are zero. A cell already rewritten (it has the mask input) is returned as it is.
 */
export function explicitMasks(ir: CellIR): CellIR {
  // The sequences whose mask is not an input yet (a cell rewritten before has it).
  const open = new Set([...lengthSymbols(ir)].filter((s) => !ir.inputs.some((j) => j.name === maskInputName(s))));
  const over = (n: Node): string | undefined => maskedOver(n, ir.nodes, open);
  const used = [...new Set(ir.nodes.flatMap((n) => over(n) ?? []))];
  if (!used.length) return ir;
  const masks = new Map<string, NodeId>();
  const rewritten = rebuild(ir, (n, e) => {
    const symbol = over(n);
    if (symbol === undefined) return copy(n, e);
    let m = masks.get(symbol);
    if (m === undefined) masks.set(symbol, (m = e.add(Op.Input, [], [dimVar(symbol)], n.span, { name: maskInputName(symbol) })));
    return maskedReduction(n, e.map(n.args[0]!), m, e);
  });
  const inputs: InputInfo[] = [...ir.inputs, ...used.map((symbol) => {
    const of = ir.inputs.find((i) => i.memory === symbol)!;
    return { name: maskInputName(symbol), shape: [dimVar(symbol)], dtype: "float" as const, memory: symbol, span: of.span };
  })];
  return { ...rewritten, inputs };
}

function maskedReduction(n: Node, x: NodeId, m: NodeId, e: Emitter): NodeId {
  const xs = e.node(x).shape, ms = e.node(m).shape, span = n.span;
  const c = (value: number) => e.add(Op.Const, [], [], span, { value });
  const kept = e.add(Op.Mul, [x, m], xs, span);
  if (n.op === Op.Sum) return e.add(Op.Sum, [kept], n.shape, span);
  if (n.op === Op.Mean) return e.add(Op.Div, [e.add(Op.Sum, [kept], n.shape, span), e.add(Op.Sum, [m], [], span)], n.shape, span);
  const shut = e.add(Op.Mul, [e.add(Op.Sub, [m, c(1)], ms, span), c(SHUT)], ms, span);
  const scores = e.add(Op.Add, [kept, shut], xs, span);
  if (n.op === Op.LogSoftmax) return e.add(Op.LogSoftmax, [scores], n.shape, span);
  return e.add(Op.Mul, [e.add(Op.Softmax, [scores], n.shape, span), m], n.shape, span);
}
