// The names a cell or a model declares, in declaration order: the one symbol table read by the elaborators and the language server.
import type * as A from "../ast/nodes.js";

/** One declared name, with the syntax that declared it. `span` is the whole declaration (for outlines and folding). */
export type Declaration =
  | { readonly kind: "dim"; readonly name: A.Name; readonly span: A.Span; readonly doc?: undefined; readonly decl: A.DimParam }
  | { readonly kind: "option"; readonly name: A.Name; readonly span: A.Span; readonly doc?: undefined; readonly decl: A.CellOption }
  | { readonly kind: "input"; readonly name: A.Name; readonly span: A.Span; readonly doc: string | undefined; readonly decl: A.InputDecl }
  | { readonly kind: "state"; readonly name: A.Name; readonly span: A.Span; readonly doc: string | undefined; readonly decl: A.StateDecl }
  | { readonly kind: "param"; readonly name: A.Name; readonly span: A.Span; readonly doc: string | undefined; readonly decl: A.ParamDecl }
  | { readonly kind: "layer"; readonly name: A.Name; readonly span: A.Span; readonly doc: string | undefined; readonly decl: A.LayerDecl }
  /** A named value (`gate` when marked so, `output` when declared by `output y = …`). */
  | { readonly kind: "value" | "gate" | "output"; readonly name: A.Name; readonly span: A.Span; readonly doc: string | undefined; readonly value: A.Expr };

/** An equation giving a declared state its value at step t: a use of the state's name, not a declaration. */
export interface StateAssignment { readonly name: A.Name; readonly value: A.Expr; readonly gate: boolean; readonly doc: string | undefined; readonly span: A.Span }

export interface Declarations {
  /** Dims, options, then inputs, states, params and layers in source order, then equations in source order. */
  readonly names: readonly Declaration[];
  readonly assignments: readonly StateAssignment[];
  /** Every `output` item, in order (with or without an equation). */
  readonly outputs: readonly A.OutputItem[];
}

/** What `d` declares. Duplicates are kept (the elaborators report them; the language server keeps the first). */
export function declarationsOf(d: A.CellDecl | A.ModelDecl): Declarations {
  let found = memo.get(d);
  if (!found) memo.set(d, (found = collect(d)));
  return found;
}

/** AST nodes are immutable, so a declaration's list is computed once (the elaborator and the language server both read it). */
const memo = new WeakMap<A.CellDecl | A.ModelDecl, Declarations>();

function collect(d: A.CellDecl | A.ModelDecl): Declarations {
  const names: Declaration[] = [];
  const assignments: StateAssignment[] = [];
  const outputs: A.OutputItem[] = [];
  for (const p of d.dims) names.push({ kind: "dim", name: p.name, span: p.span, decl: p });
  if (d.kind === "cell") for (const o of d.options) names.push({ kind: "option", name: o.name, span: o.span, decl: o });
  const items: readonly A.CellItem[] = d.items;
  for (const item of items) {
    if (item.kind === "input" || item.kind === "state" || item.kind === "layer")
      names.push({ kind: item.kind, name: item.name, span: item.span, doc: item.doc, decl: item } as Declaration);
    else if (item.kind === "param") for (const n of item.names) names.push({ kind: "param", name: n, span: item.span, doc: item.doc, decl: item });
  }
  const states = new Set(names.filter((n) => n.kind === "state").map((n) => n.name.text));
  const equation = (name: A.Name, value: A.Expr, kind: "value" | "gate" | "output", doc: string | undefined, span: A.Span): void => {
    if (states.has(name.text)) assignments.push({ name, value, gate: kind === "gate", doc, span });
    else names.push({ kind, name, span, doc, value });
  };
  for (const item of items) {
    if (item.kind === "def") equation(item.name, item.value, item.gate ? "gate" : "value", item.doc, item.span);
    if (item.kind === "output")
      for (const o of item.items) {
        outputs.push(o);
        if (o.value) equation(o.name, o.value, "output", item.doc, o.span);
      }
  }
  return { names, assignments, outputs };
}
