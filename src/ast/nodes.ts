// The abstract syntax tree of a .rnn file: plain immutable data, a source span on every node.

/** Half-open character offsets [start, end) into the file's text. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export interface Name {
  readonly text: string;
  readonly span: Span;
}

export type Expr = NumberExpr | NameExpr | CallExpr | BinaryExpr | NegExpr | LagExpr | SliceExpr | ParenExpr | FieldExpr;

export interface NumberExpr { readonly kind: "number"; readonly value: number; readonly text: string; readonly span: Span }
export interface NameExpr { readonly kind: "name"; readonly name: Name; readonly span: Span }
export interface NamedArg { readonly name: Name; readonly value: Expr; readonly span: Span }
export interface CallExpr {
  readonly kind: "call";
  readonly callee: Name;
  readonly args: readonly Expr[];
  /** `name = value` arguments, after or among the positional ones. */
  readonly named: readonly NamedArg[];
  readonly span: Span;
}
/** `v.name`: a field (one state of a scan's final states). */
export interface FieldExpr { readonly kind: "field"; readonly target: Expr; readonly field: Name; readonly span: Span }
export type BinaryOp = "+" | "-" | "*" | "/" | "@";
export interface BinaryExpr {
  readonly kind: "binary";
  readonly op: BinaryOp;
  /** The operator as written (`⊙`, `·`, `*`, …), for messages. */
  readonly opText: string;
  readonly left: Expr;
  readonly right: Expr;
  readonly span: Span;
}
export interface NegExpr { readonly kind: "neg"; readonly operand: Expr; readonly span: Span }
/** `h[t-k]`: a value k steps back (k ≥ 0 as written; the checker rejects what is not a valid lag). */
export interface LagExpr { readonly kind: "lag"; readonly target: Expr; readonly lag: number; readonly indexSpan: Span; readonly span: Span }
/** `v[a:b]`: a slice of the first axis, bounds as dimension expressions. */
export interface SliceExpr {
  readonly kind: "slice";
  readonly target: Expr;
  readonly start: DimExpr | undefined;
  readonly end: DimExpr | undefined;
  readonly indexSpan: Span;
  readonly span: Span;
}
export interface ParenExpr { readonly kind: "paren"; readonly inner: Expr; readonly span: Span }

/** A dimension as written in a shape or slice: names, integers, + - *. */
export type DimExpr =
  | { readonly kind: "dimName"; readonly name: Name; readonly span: Span }
  | { readonly kind: "dimNumber"; readonly value: number; readonly span: Span }
  | { readonly kind: "dimBinary"; readonly op: "+" | "-" | "*"; readonly left: DimExpr; readonly right: DimExpr; readonly span: Span };

export interface ShapeAst { readonly dims: readonly DimExpr[]; readonly span: Span }

export interface DimParam { readonly name: Name; readonly default: number | undefined; readonly span: Span }
export interface CellOption { readonly name: Name; readonly value: Expr; readonly span: Span }
export interface Initializer { readonly name: Name; readonly args: readonly Expr[]; readonly span: Span }

export type CellItem = InputDecl | StateDecl | ParamDecl | LayerDecl | Definition | OutputDecl;

/** `layer rnn = LSTM<E, H>(forget_bias = 0)`: an instance of a cell; `_` for a dimension inferred from use. */
export interface LayerDecl {
  readonly kind: "layer";
  readonly name: Name;
  readonly cell: Name;
  readonly dims: readonly (DimExpr | "infer")[];
  readonly dimsSpan: Span | undefined;
  readonly options: readonly NamedArg[];
  readonly doc: string | undefined;
  readonly span: Span;
}

export type ElementType = "float" | "int";
export interface InputDecl {
  readonly kind: "input";
  readonly name: Name;
  readonly shape: ShapeAst;
  readonly dtype: ElementType;
  readonly doc: string | undefined;
  readonly span: Span;
}
export interface StateDecl {
  readonly kind: "state";
  readonly name: Name;
  readonly shape: ShapeAst;
  readonly init: Expr | undefined;
  readonly doc: string | undefined;
  readonly span: Span;
}
export interface ParamDecl {
  readonly kind: "param";
  readonly names: readonly Name[];
  readonly shape: ShapeAst;
  readonly init: Initializer | undefined;
  readonly doc: string | undefined;
  readonly span: Span;
}
/** `name = expr`, or `gate name = expr` when `gate` is true. */
export interface Definition {
  readonly kind: "def";
  readonly name: Name;
  readonly value: Expr;
  readonly gate: boolean;
  readonly doc: string | undefined;
  readonly span: Span;
}
export interface OutputItem { readonly name: Name; readonly value: Expr | undefined; readonly span: Span }
export interface OutputDecl { readonly kind: "output"; readonly items: readonly OutputItem[]; readonly doc: string | undefined; readonly span: Span }

export interface CellDecl {
  readonly kind: "cell";
  readonly name: Name;
  readonly dims: readonly DimParam[];
  readonly options: readonly CellOption[];
  readonly items: readonly CellItem[];
  readonly doc: string | undefined;
  readonly span: Span;
}

export interface ImportDecl { readonly kind: "import"; readonly names: readonly Name[]; readonly from: string; readonly fromSpan: Span; readonly span: Span }

export type ModelItem = InputDecl | LayerDecl | Definition | OutputDecl;

export interface ModelDecl {
  readonly kind: "model";
  readonly name: Name;
  readonly dims: readonly DimParam[];
  readonly items: readonly ModelItem[];
  readonly doc: string | undefined;
  readonly span: Span;
}

export type TopDecl = CellDecl | ModelDecl;

export interface Module {
  readonly file: string;
  readonly imports: readonly ImportDecl[];
  readonly decls: readonly TopDecl[];
}
