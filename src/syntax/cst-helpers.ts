// Small readers of chevrotain's CST for the AST builder: tokens and nodes of a child list, spans, operators.
import type { CstElement, CstNode, IToken } from "chevrotain";
import type * as A from "../ast/nodes.js";

export type Children = Record<string, CstElement[] | undefined>;

export const isToken = (e: CstElement | undefined): e is IToken => !!e && "image" in e;

export function tokenSpan(t: IToken): A.Span {
  return { start: t.startOffset, end: (t.endOffset ?? t.startOffset) + 1 };
}

export function join(a: A.Span, b: A.Span): A.Span {
  return { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}

/** `t` → 0, `t - k` → k, `t + k` → -k; anything else → undefined. */
export function timeOffset(e: A.Expr): number | undefined {
  if (e.kind === "name" && e.name.text === "t") return 0;
  if (e.kind === "binary" && (e.op === "-" || e.op === "+") && e.left.kind === "name" && e.left.name.text === "t" && e.right.kind === "number") {
    return e.op === "-" ? e.right.value : -e.right.value;
  }
  return undefined;
}

export function binaryOp(t: IToken): A.BinaryOp {
  switch (t.tokenType.name) {
    case "Plus": return "+";
    case "Minus": return "-";
    case "Slash": return "/";
    case "MatMul": return "@";
    default: return "*";
  }
}

export function unquote(s: string): string {
  return s.slice(1, -1).replace(/\\(.)/g, "$1");
}

export const name = (t: IToken): A.Name => ({ text: t.image, span: tokenSpan(t) });
export const defined = <T>(x: T | undefined): x is T => x !== undefined;
export const nodes = (es: CstElement[] | undefined): CstNode[] => (es ?? []).filter((e): e is CstNode => !isToken(e));
export const toks = (es: CstElement[] | undefined): IToken[] => (es ?? []).filter((e): e is IToken => isToken(e) && !Number.isNaN(e.startOffset) && !e.isInsertedInRecovery);
export const tok = (es: CstElement[] | undefined): IToken | undefined => toks(es)[0];
