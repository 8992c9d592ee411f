// The limits the AST builder enforces: expression depth (counted as nodes are built, without recursion) and declarations per cell.
import type { CstNode, IToken } from "chevrotain";
import type * as A from "../ast/nodes.js";
import type { DiagnosticBag } from "../diagnostics/diagnostic.js";
import { MAX_DECLARATIONS, MAX_EXPRESSION_DEPTH } from "../diagnostics/limits.js";

export class AstLimits {
  /** Expression depths by node, filled as nodes are built (children first). */
  private readonly depths = new WeakMap<A.Expr, number>();
  private reportedDeep = false;

  constructor(private readonly file: string, private readonly diags: DiagnosticBag) {}

  /** Levels of an expression's tree (operators, brackets, signs, calls above its leaves), from its children's (built first): no recursion. */
  depth(e: A.Expr): number {
    const known = this.depths.get(e);
    if (known !== undefined) return known;
    const of = (x: A.Expr) => this.depths.get(x) ?? 0;
    let children: readonly A.Expr[] = [];
    switch (e.kind) {
      case "binary": children = [e.left, e.right]; break;
      case "neg": children = [e.operand]; break;
      case "paren": children = [e.inner]; break;
      case "field": case "lag": case "slice": children = [e.target]; break;
      case "call": children = [...e.args, ...e.named.map((a) => a.value)]; break;
      default: break;
    }
    let d = 0; // a name or a number: no level
    for (const c of children) d = Math.max(d, 1 + of(c));
    this.depths.set(e, d);
    return d;
  }

  /** Whether `e` is deeper than MAX_EXPRESSION_DEPTH (reported once per declaration chunk). */
  tooDeep(e: A.Expr): boolean {
    if (this.depth(e) <= MAX_EXPRESSION_DEPTH) return false;
    if (this.reportedDeep) return true;
    this.reportedDeep = true;
    this.diags.error("RNN0107", `this expression is more than ${MAX_EXPRESSION_DEPTH} levels deep`, {
      file: this.file, span: e.span, label: `${this.depth(e)} levels`,
      notes: [`each operator of a chain \`a + b + c …\` is a level, as are brackets and signs; at most ${MAX_EXPRESSION_DEPTH} are read`],
      help: { message: "split it into named parts (`s1 = a + b + …`, then `s = s1 + s2`)" },
    });
    return true;
  }

  /** Reports a cell or model with more than MAX_DECLARATIONS declarations (it is then not read). */
  tooMany(items: readonly CstNode[], what: string, id: IToken): boolean {
    if (items.length <= MAX_DECLARATIONS) return false;
    this.diags.error("RNN0108", `${what} \`${id.image}\` has ${items.length.toLocaleString("en-US")} declarations, more than ${MAX_DECLARATIONS.toLocaleString("en-US")}`, {
      file: this.file, span: { start: id.startOffset, end: (id.endOffset ?? id.startOffset) + 1 }, label: "declared here",
      notes: [`a ${what} holds at most ${MAX_DECLARATIONS.toLocaleString("en-US")} declarations; this one was not read`],
      help: { message: "split it into smaller cells used as layers" },
    });
    return true;
  }
}
