// The functions of training's randomness, dropout(x, p) and zoneout(next, prev, p): checked, then written with the Dropout op.
import type * as A from "../ast/nodes.js";
import type { DiagnosticBag } from "../diagnostics/diagnostic.js";
import type { NodeBuilder } from "../ir/builder.js";
import { shapeEquals, shapeToString, type Shape } from "../ir/dims.js";
import type { Attrs, NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import type { Sym } from "./scope.js";

/** What these functions need of the expression elaborator. */
export interface RandomOpContext {
  readonly file: string;
  readonly diags: DiagnosticBag;
  readonly b: NodeBuilder;
  readonly scope: { readonly symbols: ReadonlyMap<string, Sym> };
  expr(e: A.Expr): NodeId | undefined;
  pointwise(op: Op, args: readonly NodeId[], shape: Shape, span: A.Span, attrs?: Attrs): NodeId | undefined;
  seqOf(ids: readonly NodeId[], exprs: readonly A.Expr[]): string | undefined | false;
}

/** `dropout(x, p)`: p a number known when compiling, in [0, 1); at 0 it is x itself. */
function dropout(c: RandomOpContext, e: A.CallExpr): NodeId | undefined {
  if (e.named.length || e.args.length !== 2) {
    c.diags.error("RNN0303", `\`dropout\` takes 2 arguments (a value, and the probability p that training zeroes each element) but was given ${e.args.length + e.named.length}`, {
      file: c.file, span: e.span, label: "write `dropout(x, p)`",
      notes: ["dropout(x, p): x when running; in training, each element of x zeroed with probability p and the rest scaled by 1/(1-p)"],
    });
    return undefined;
  }
  const x = c.expr(e.args[0]!);
  const p = constantValue(c, e.args[1]!, "dropout");
  if (x === undefined || p === undefined) return undefined;
  if (!probability(c, p, e.args[1]!, "dropout", "zeroes each element")) return undefined;
  if (p === 0) return x;
  return c.pointwise(Op.Dropout, [x], c.b.shape(x), e.span, { rate: p });
}

/**
 * `zoneout(next, prev, p)` (Krueger et al. 2016): in training each element keeps its previous value with probability
 * p (a new draw every step), when running it is the expectation p·prev + (1-p)·next. Written as
 * next + p·dropout(prev - next, 1 - p), whose mask is 1/p with probability p: the same in both.
 */
function zoneout(c: RandomOpContext, e: A.CallExpr): NodeId | undefined {
  if (e.named.length || e.args.length !== 3) {
    c.diags.error("RNN0303", `\`zoneout\` takes 3 arguments (the new value, the previous one, and the probability p of keeping the previous one) but was given ${e.args.length + e.named.length}`, {
      file: c.file, span: e.span, label: "write `zoneout(next, prev, p)`",
      notes: ["zoneout(next, prev, p): when running p·prev + (1-p)·next; in training each element is prev with probability p, else next"],
    });
    return undefined;
  }
  const next = c.expr(e.args[0]!), prev = c.expr(e.args[1]!);
  const p = constantValue(c, e.args[2]!, "zoneout");
  if (next === undefined || prev === undefined || p === undefined) return undefined;
  if (!probability(c, p, e.args[2]!, "zoneout", "keeps the previous value")) return undefined;
  const shape = c.b.shape(next);
  if (!shapeEquals(shape, c.b.shape(prev))) {
    c.diags.error("RNN0301", `\`zoneout\` mixes values of shapes ${shapeToString(shape)} and ${shapeToString(c.b.shape(prev))}`, {
      file: c.file, span: e.span, label: "the new and the previous value differ in shape",
      secondary: [{ file: c.file, span: e.args[0]!.span, message: `this has shape ${shapeToString(shape)}` }, { file: c.file, span: e.args[1]!.span, message: `this has shape ${shapeToString(c.b.shape(prev))}` }],
      help: { message: "zoneout keeps each element of a state from the step before: give it the state's new value and its value at t-1" },
    });
    return undefined;
  }
  if (c.seqOf([next, prev], [e.args[0]!, e.args[1]!]) === false) return undefined;
  if (p === 0) return next;
  const d = c.pointwise(Op.Sub, [prev, next], shape, e.span);
  const dropped = d === undefined ? undefined : c.pointwise(Op.Dropout, [d], shape, e.span, { rate: 1 - p, perStep: true });
  const scaled = dropped === undefined ? undefined : c.pointwise(Op.Mul, [c.b.add(Op.Const, [], [], e.args[2]!.span, { value: p }), dropped], shape, e.span);
  return scaled === undefined ? undefined : c.pointwise(Op.Add, [next, scaled], shape, e.span);
}

/** Whether p is a probability in [0, 1) (after reporting when not). */
function probability(c: RandomOpContext, p: number, at: A.Expr, fn: string, what: string): boolean {
  if (p >= 0 && p < 1) return true;
  c.diags.error("RNN0208", `the ${fn} probability ${p} is outside [0, 1)`, {
    file: c.file, span: at.span, label: "not in [0, 1)",
    notes: [`p is the probability that training ${what}${fn === "dropout" ? "; 1 would zero them all" : ""}`],
    help: { message: `use a probability such as 0.2, or 0 to turn ${fn} off` },
  });
  return false;
}

/** A number known when compiling (a literal, an option, or either negated), or undefined after reporting. */
function constantValue(c: RandomOpContext, e: A.Expr, fn: string): number | undefined {
  if (e.kind === "paren") return constantValue(c, e.inner, fn);
  if (e.kind === "neg") {
    const v = constantValue(c, e.operand, fn);
    return v === undefined ? undefined : -v;
  }
  if (e.kind === "number") return e.value;
  const sym = e.kind === "name" ? c.scope.symbols.get(e.name.text) : undefined;
  if (sym?.kind === "option" && typeof sym.value === "number") return sym.value;
  if (sym?.kind === "poisoned") return undefined;
  c.diags.error("RNN0208", `the ${fn} probability must be a number known when compiling`, {
    file: c.file, span: e.span, label: "not a constant",
    notes: [`write a number or a cell option (\`cell C<I, H>(p = 0.2) { … ${fn === "dropout" ? "dropout(x, p)" : "zoneout(h_new, h[t-1], p)"} … }\`)`],
  });
  return undefined;
}

/** By name: what each is (for completion and help) and how a call of it is elaborated. */
export const randomFunctions: ReadonlyMap<string, { readonly doc: string; readonly elaborate: (c: RandomOpContext, e: A.CallExpr) => NodeId | undefined }> = new Map([
  ["dropout", { doc: "dropout(x, p): x when running; in training each element zeroed with probability p, the rest scaled by 1/(1-p)", elaborate: dropout }],
  ["zoneout", { doc: "zoneout(next, prev, p): p·prev + (1-p)·next when running; in training each element is prev with probability p, else next", elaborate: zoneout }],
]);
