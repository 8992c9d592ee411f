// Turns the chevrotain CST of one file into the AST, attaching doc comments and reporting malformed indices and shapes.
import type { CstNode, IToken } from "chevrotain";
import type * as A from "../ast/nodes.js";
import type { DiagnosticBag } from "../diagnostics/diagnostic.js";
import { AstLimits } from "./ast-limits.js";
import { binaryOp, defined, join, name, nodes, timeOffset, tok, tokenSpan, toks, unquote, type Children } from "./cst-helpers.js";

/** Builds the AST of one file. Nodes the parser only partly recognised are dropped; their errors are already reported. */
export class AstBuilder {
  private readonly docComments: IToken[];
  private readonly limits: AstLimits;

  constructor(
    private readonly file: string,
    private readonly text: string,
    comments: readonly IToken[],
    private readonly diags: DiagnosticBag,
  ) {
    this.limits = new AstLimits(file, diags);
    this.docComments = comments.filter((c) => c.image.startsWith("///")).sort((a, b) => a.startOffset - b.startOffset);
  }

  module(cst: CstNode): A.Module {
    const c = cst.children as Children;
    const imports = nodes(c.importDecl).map((n) => this.importDecl(n)).filter(defined);
    const decls = [...nodes(c.cellDecl).map((n) => this.cellDecl(n)), ...nodes(c.modelDecl).map((n) => this.modelDecl(n))]
      .filter(defined).sort((a, b) => a.span.start - b.span.start);
    return { file: this.file, imports, decls };
  }

  private importDecl(n: CstNode): A.ImportDecl | undefined {
    const c = n.children as Children;
    const from = tok(c.StringLiteral);
    if (!from) return undefined;
    return {
      kind: "import",
      names: toks(c.Identifier).map(name),
      from: unquote(from.image),
      fromSpan: tokenSpan(from),
      span: this.span(n),
    };
  }

  private cellDecl(n: CstNode): A.CellDecl | undefined {
    const c = n.children as Children;
    const id = tok(c.Identifier);
    if (!id) return undefined;
    const dimsNode = nodes(c.dimParams)[0];
    const optsNode = nodes(c.cellOptions)[0];
    const dims = dimsNode ? nodes((dimsNode.children as Children).dimParam).map((d) => this.dimParam(d)).filter(defined) : [];
    const options = optsNode ? nodes((optsNode.children as Children).cellOption).map((o) => this.cellOption(o)).filter(defined) : [];
    if (this.limits.tooMany(nodes(c.cellItem), "cell", id)) return undefined;
    const items = nodes(c.cellItem).map((i) => this.cellItem(i)).filter(defined);
    const span = this.span(n);
    return { kind: "cell", name: name(id), dims, options, items, doc: this.docFor(span.start), span };
  }

  private modelDecl(n: CstNode): A.ModelDecl | undefined {
    const c = n.children as Children;
    const id = tok(c.Identifier);
    if (!id) return undefined;
    const dimsNode = nodes(c.dimParams)[0];
    const dims = dimsNode ? nodes((dimsNode.children as Children).dimParam).map((d) => this.dimParam(d)).filter(defined) : [];
    if (this.limits.tooMany(nodes(c.modelItem), "model", id)) return undefined;
    const items = nodes(c.modelItem).map((i) => this.cellItem(i)).filter(defined)
      .filter((i): i is A.ModelItem => i.kind === "input" || i.kind === "layer" || i.kind === "def" || i.kind === "output");
    const span = this.span(n);
    return { kind: "model", name: name(id), dims, items, doc: this.docFor(span.start), span };
  }

  private layerDecl(n: CstNode, doc: string | undefined, span: A.Span): A.LayerDecl | undefined {
    const c = n.children as Children;
    const [id, cell] = toks(c.Identifier);
    if (!id || !cell) return undefined;
    const dimExprs = nodes(c.expression).map((e) => this.expr(e));
    if (!dimExprs.every(defined)) return undefined;
    const dims: (A.DimExpr | "infer")[] = [];
    for (const e of dimExprs as A.Expr[]) {
      if (e.kind === "name" && e.name.text === "_") { dims.push("infer"); continue; }
      const d = this.dim(e);
      if (!d) return undefined;
      dims.push(d);
    }
    const less = tok(c.Less);
    const greater = tok(c.Greater);
    const argNode = nodes(c.argumentList)[0];
    const call = argNode ? this.arguments(argNode) : { args: [], named: [] };
    if (!call) return undefined;
    for (const a of call.args) {
      this.diags.error("RNN0208", "layer options are written `name = value`", {
        file: this.file, span: a.span, label: "an option without a name",
        notes: ["for example `layer head = Dense<H, C>(act = softmax)`"],
      });
    }
    return {
      kind: "layer", name: name(id), cell: name(cell), dims,
      dimsSpan: less && greater ? join(tokenSpan(less), tokenSpan(greater)) : undefined,
      options: call.named, doc, span,
    };
  }

  private dimParam(n: CstNode): A.DimParam | undefined {
    const c = n.children as Children;
    const id = tok(c.Identifier);
    if (!id) return undefined;
    const num = tok(c.NumberLiteral);
    let def: number | undefined;
    if (num) {
      def = Number(num.image);
      if (!Number.isInteger(def) || def < 1) {
        this.diags.error("RNN0104", `the default of dimension \`${id.image}\` must be a positive integer, not \`${num.image}\``, {
          file: this.file, span: tokenSpan(num), label: "not a positive integer",
          help: { message: "dimensions count elements, so they are whole numbers of at least 1" },
        });
        def = undefined;
      }
    }
    return { name: name(id), default: def, span: this.span(n) };
  }

  private cellOption(n: CstNode): A.CellOption | undefined {
    const c = n.children as Children;
    const id = tok(c.Identifier);
    const value = this.expr(nodes(c.expression)[0]);
    if (!id || !value) return undefined;
    return { name: name(id), value, span: this.span(n) };
  }

  private cellItem(n: CstNode): A.CellItem | undefined {
    const c = n.children as Children;
    const inner = nodes(c.inputDecl)[0] ?? nodes(c.stateDecl)[0] ?? nodes(c.paramDecl)[0] ?? nodes(c.layerDecl)[0] ?? nodes(c.gateDef)[0] ?? nodes(c.outputDecl)[0] ?? nodes(c.definition)[0];
    if (!inner || inner.recoveredNode) return undefined;
    const ic = inner.children as Children;
    // A declaration whose `=` (or other token of its own) the parser's recovery made up is no declaration: it would
    // define a name the text does not (`output state = final(s)` read on as `final = (s)`).
    if (Object.values(ic).some((es) => (es ?? []).some((e) => "isInsertedInRecovery" in e && (e as IToken).isInsertedInRecovery))) return undefined;
    const span = this.span(inner);
    const doc = this.docFor(span.start);
    switch (inner.name) {
      case "inputDecl": {
        const [id, typeTok] = toks(ic.Identifier);
        const shape = this.shape(nodes(ic.shape)[0]);
        if (typeTok && typeTok.image !== "int" && typeTok.image !== "float") {
          this.diags.error("RNN0105", `unknown element type \`${typeTok.image}\``, {
            file: this.file, span: tokenSpan(typeTok), label: "expected `int` or `float`",
            notes: ["inputs hold floats unless declared `int` (token ids for an embedding)"],
          });
          return undefined;
        }
        const dtype = typeTok?.image === "int" ? "int" : "float";
        return id && shape ? { kind: "input", name: name(id), shape, dtype, doc, span } : undefined;
      }
      case "stateDecl": {
        const id = tok(ic.Identifier);
        const shape = this.shape(nodes(ic.shape)[0]);
        const init = this.expr(nodes(ic.expression)[0]);
        return id && shape ? { kind: "state", name: name(id), shape, init, doc, span } : undefined;
      }
      case "paramDecl": {
        const shape = this.shape(nodes(ic.shape)[0]);
        const initNode = nodes(ic.initializer)[0];
        const init = initNode ? this.initializer(initNode) : undefined;
        const names = toks(ic.Identifier).map(name);
        return shape && names.length ? { kind: "param", names, shape, init, doc, span } : undefined;
      }
      case "layerDecl":
        return this.layerDecl(inner, doc, span);
      case "gateDef":
      case "definition": {
        const id = tok(ic.Identifier);
        const value = this.expr(nodes(ic.expression)[0]);
        return id && value ? { kind: "def", name: name(id), value, gate: inner.name === "gateDef", doc, span } : undefined;
      }
      case "outputDecl": {
        const items = nodes(ic.outputItem).map((o): A.OutputItem | undefined => {
          const oc = o.children as Children;
          const id = tok(oc.Identifier);
          if (!id) return undefined;
          const valueNode = nodes(oc.expression)[0];
          const value = valueNode ? this.expr(valueNode) : undefined;
          if (valueNode && !value) return undefined;
          return { name: name(id), value, span: this.span(o) };
        }).filter(defined);
        return items.length ? { kind: "output", items, doc, span } : undefined;
      }
    }
    return undefined;
  }

  private initializer(n: CstNode): A.Initializer | undefined {
    const c = n.children as Children;
    const id = tok(c.Identifier);
    if (!id) return undefined;
    const argNode = nodes(c.argumentList)[0];
    const call = argNode ? this.arguments(argNode) : { args: [], named: [] };
    if (!call) return undefined;
    for (const a of call.named) {
      this.diags.error("RNN0208", "initializer arguments are positional", {
        file: this.file, span: a.name.span, label: "a named argument",
        notes: ["write `uniform(-0.1, 0.1)`, not `uniform(lo = -0.1, hi = 0.1)`"],
      });
    }
    return { name: name(id), args: call.args, span: this.span(n) };
  }

  /** The positional and named arguments of an argument list. */
  private arguments(n: CstNode): { args: A.Expr[]; named: A.NamedArg[] } | undefined {
    if (n.recoveredNode) return undefined;
    const args: A.Expr[] = [];
    const named: A.NamedArg[] = [];
    for (const a of nodes((n.children as Children).argument)) {
      const ac = a.children as Children;
      const value = this.expr(nodes(ac.expression)[0]);
      if (!value) return undefined;
      const id = tok(ac.Identifier);
      if (id) named.push({ name: name(id), value, span: this.span(a) });
      else args.push(value);
    }
    return { args, named };
  }

  private shape(n: CstNode | undefined): A.ShapeAst | undefined {
    if (!n || n.recoveredNode) return undefined;
    const exprs = nodes((n.children as Children).expression).map((e) => this.expr(e));
    if (!exprs.every(defined)) return undefined;
    const dims = (exprs as A.Expr[]).map((e) => this.dim(e));
    return dims.every(defined) ? { dims: dims as A.DimExpr[], span: this.span(n) } : undefined;
  }

  /** Reads an expression as a dimension (names, integers, + - *), or reports why it is not one. */
  private dim(e: A.Expr): A.DimExpr | undefined {
    switch (e.kind) {
      case "name":
        return { kind: "dimName", name: e.name, span: e.span };
      case "number":
        if (Number.isInteger(e.value) && e.value >= 0) return { kind: "dimNumber", value: e.value, span: e.span };
        break;
      case "paren":
        return this.dim(e.inner);
      case "binary":
        if (e.op === "+" || e.op === "-" || e.op === "*") {
          const l = this.dim(e.left);
          const r = this.dim(e.right);
          return l && r ? { kind: "dimBinary", op: e.op, left: l, right: r, span: e.span } : undefined;
        }
        break;
      default:
        break;
    }
    this.diags.error("RNN0104", `\`${this.text.slice(e.span.start, e.span.end)}\` is not a dimension`, {
      file: this.file, span: e.span, label: "expected a dimension here",
      notes: ["a dimension is a whole number, a dimension name such as `H`, or a sum or product of those (`2*H`, `I + H`)"],
    });
    return undefined;
  }

  /** An expression, or undefined (reported) where it cannot be read or is deeper than MAX_EXPRESSION_DEPTH. */
  private expr(n: CstNode | undefined): A.Expr | undefined {
    const e = this.exprTree(n);
    return e && this.limits.tooDeep(e) ? undefined : e;
  }

  private exprTree(n: CstNode | undefined): A.Expr | undefined {
    if (!n || n.recoveredNode) return undefined;
    const c = n.children as Children;
    switch (n.name) {
      case "expression":
      case "multiplicative": {
        const operands = nodes(n.name === "expression" ? c.multiplicative : c.unary).map((o) => this.expr(o));
        if (!operands.length || !operands.every(defined)) return undefined;
        const ops = [...toks(c.Plus), ...toks(c.Minus), ...toks(c.Star), ...toks(c.Slash), ...toks(c.Hadamard), ...toks(c.MatMul)]
          .sort((a, b) => a.startOffset - b.startOffset);
        if (ops.length !== operands.length - 1) return undefined;
        let acc = operands[0]!;
        for (let i = 0; i < ops.length; i++) {
          const op = ops[i]!, right = operands[i + 1]!;
          acc = { kind: "binary", op: binaryOp(op), opText: op.image, left: acc, right, span: join(acc.span, right.span) };
          if (this.limits.tooDeep(acc)) return undefined;
        }
        return acc;
      }
      case "unary": {
        const minus = tok(c.Minus);
        if (minus) {
          const operand = this.expr(nodes(c.unary)[0]);
          return operand ? { kind: "neg", operand, span: join(tokenSpan(minus), operand.span) } : undefined;
        }
        return this.expr(nodes(c.postfix)[0]);
      }
      case "postfix": {
        let acc = this.expr(nodes(c.primary)[0]);
        const suffixes = [...nodes(c.indexSuffix), ...nodes(c.fieldSuffix)].sort((a, b) => (a.location?.startOffset ?? 0) - (b.location?.startOffset ?? 0));
        for (const suffix of suffixes) {
          if (!acc) return undefined;
          if (suffix.name === "fieldSuffix") {
            const field = tok((suffix.children as Children).Identifier);
            if (!field) return undefined;
            acc = { kind: "field", target: acc, field: name(field), span: join(acc.span, tokenSpan(field)) };
          } else acc = this.index(acc, suffix);
        }
        return acc;
      }
      case "primary": {
        const num = tok(c.NumberLiteral);
        if (num) return { kind: "number", value: Number(num.image), text: num.image, span: tokenSpan(num) };
        const call = nodes(c.nameOrCall)[0];
        if (call) return this.expr(call);
        const inner = this.expr(nodes(c.expression)[0]);
        return inner ? { kind: "paren", inner, span: this.span(n) } : undefined;
      }
      case "nameOrCall": {
        const id = tok(c.Identifier);
        if (!id) return undefined;
        const argNode = nodes(c.argumentList)[0];
        if (!argNode) return { kind: "name", name: name(id), span: tokenSpan(id) };
        const call = this.arguments(argNode);
        return call ? { kind: "call", callee: name(id), args: call.args, named: call.named, span: this.span(n) } : undefined;
      }
    }
    return undefined;
  }

  /** `v[t-k]` is a lag, `v[a:b]` a slice; anything else in brackets is reported. */
  private index(target: A.Expr, n: CstNode): A.Expr | undefined {
    if (n.recoveredNode) return undefined;
    const c = n.children as Children;
    const indexSpan = this.span(n);
    const span = join(target.span, indexSpan);
    const exprs = nodes(c.expression);
    const colon = tok(c.Colon);
    if (colon) {
      const before = exprs.find((e) => (e.location?.startOffset ?? 0) < colon.startOffset);
      const after = exprs.find((e) => (e.location?.startOffset ?? 0) > colon.startOffset);
      const start = before ? this.expr(before) : undefined;
      const end = after ? this.expr(after) : undefined;
      if ((before && !start) || (after && !end)) return undefined;
      const sd = start ? this.dim(start) : undefined;
      const ed = end ? this.dim(end) : undefined;
      if ((start && !sd) || (end && !ed)) return undefined;
      return { kind: "slice", target, start: sd, end: ed, indexSpan, span };
    }
    const e = this.expr(exprs[0]);
    if (!e) return undefined;
    const lag = timeOffset(e);
    if (lag !== undefined) return { kind: "lag", target, lag, indexSpan, span };
    this.diags.error("RNN0103", `\`${this.text.slice(indexSpan.start, indexSpan.end)}\` is neither a time index nor a slice`, {
      file: this.file, span: indexSpan, label: "expected `[t-k]` or `[a:b]`",
      notes: ["inside a cell, brackets after a value either look back in time (`h[t-1]`, `h[t-2]`) or take a slice of it (`z[0:H]`, `z[H:2*H]`)"],
      help: { message: "write the step as `t` minus a whole number, for example `[t-1]`" },
    });
    return undefined;
  }

  private span(n: CstNode): A.Span {
    const loc = n.location;
    if (!loc || Number.isNaN(loc.startOffset)) return { start: 0, end: 0 };
    return { start: loc.startOffset, end: (Number.isNaN(loc.endOffset ?? NaN) ? loc.startOffset : loc.endOffset!) + 1 };
  }

  /** The `///` comments directly above offset `start`, joined, without their slashes. */
  private docFor(start: number): string | undefined {
    const lines: string[] = [];
    let cursor = start;
    for (let i = this.docComments.length - 1; i >= 0; i--) {
      const d = this.docComments[i]!;
      if (d.startOffset >= cursor) continue;
      const between = this.text.slice(d.endOffset! + 1, cursor);
      if (!/^[ \t\r]*\n?[ \t\r]*$/.test(between)) break;
      lines.unshift(d.image.slice(3).replace(/^ /, ""));
      cursor = d.startOffset;
    }
    return lines.length ? lines.join("\n") : undefined;
  }
}

