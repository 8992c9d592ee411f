// Elaborates expressions of cells and models into IR nodes, inferring symbolic shapes and reporting every mismatch once.
import type * as A from "../ast/nodes.js";
import type { DiagnosticBag, Help, Label } from "../diagnostics/diagnostic.js";
import { closestNames, quoteList, rankByName } from "../diagnostics/suggest.js";
import { matmulShape, broadcastShape, sliceShape, type ShapeResult } from "../ir/shapes.js";
import { shapeEquals, shapeToString, dimConst, type Shape } from "../ir/dims.js";
import type { Attrs, NodeId } from "../ir/ir.js";
import { Op, builtins, info } from "../ir/ops.js";
import type { NodeBuilder } from "../ir/builder.js";
import { randomFunctions } from "./random-ops.js";
import { dimOf, type Sym } from "./scope.js";

/**
 * How names, layers and the constructs of an expression become nodes: the cell and the model elaborators supply it
 * (they know about cycles, inlining and sequences). The optional members are a model's.
 */
export interface ValueResolver {
  /** The node of a named value at step t, or undefined after reporting why there is none. */
  valueAt(sym: Sym, use: A.NameExpr): NodeId | undefined;
  /** The node of state `sym` read `lag` ≥ 1 steps back. */
  stateAt(sym: Sym & { kind: "state" }, lag: number, span: A.Span): NodeId;
  /** Applies a layer to argument nodes; its first output, or undefined after reporting why not. */
  layerCall(sym: Sym & { kind: "layer" }, call: A.CallExpr, args: readonly NodeId[]): NodeId | undefined;
  /** A layer named by a call, before its arguments are elaborated (a model instantiates it here, so it counts as used). */
  layerNamed?(sym: Sym & { kind: "layer" }): void;
  /** A sequence construct (`scan(…)`, `last(…)`, …) by its callee name, or undefined when there is none of that name. */
  construct?(call: A.CallExpr): { node: NodeId | undefined } | undefined;
  /** Constructs and layers offered as near names for an unknown function. */
  readonly callables?: readonly string[];
  /** `final(enc).h`. */
  field?(e: A.FieldExpr): NodeId | undefined;
  /** `x[t-1]` where time has no index (a model). */
  lag?(e: A.LagExpr): NodeId | undefined;
}

/** A cell or a model: what messages name, and the dims a slice may use. */
export type Owner = A.CellDecl | A.ModelDecl;

const binaryOpFor: Record<Exclude<A.BinaryOp, "@">, Op> = { "+": Op.Add, "-": Op.Sub, "*": Op.Mul, "/": Op.Div };
const broadcastsTo = (a: Shape, b: Shape, want: Shape): boolean => {
  const r = broadcastShape(a, b);
  return r.ok && shapeEquals(r.shape, want);
};
const verb: Record<string, string> = { "+": "add", "-": "subtract", "*": "multiply", "/": "divide" };

export class ExprElaborator {
  constructor(
    private readonly owner: Owner,
    private readonly file: string,
    private readonly text: string,
    private readonly scope: { readonly symbols: ReadonlyMap<string, Sym> },
    private readonly b: NodeBuilder,
    private readonly diags: DiagnosticBag,
    private readonly values: ValueResolver,
  ) {}

  private src(span: A.Span): string {
    return this.text.slice(span.start, span.end);
  }

  /** The sequence length shared by some values; false (after reporting) when two differ. Always undefined in cells. */
  seqOf(ids: readonly NodeId[], exprs: readonly A.Expr[]): string | undefined | false {
    let seq: string | undefined;
    let at = -1;
    for (let i = 0; i < ids.length; i++) {
      const s = this.b.nodes[ids[i]!]!.seq;
      if (!s) continue;
      if (seq && s !== seq) {
        this.diags.error("RNN0707", `sequences of different lengths ${seq} and ${s} are combined step by step`, {
          file: this.file, span: exprs[i]!.span, label: `a sequence of length ${s}`,
          secondary: [{ file: this.file, span: exprs[at]!.span, message: `a sequence of length ${seq}` }],
          notes: ["step-by-step operations pair the steps of aligned sequences; these may differ in length"],
          help: { message: "summarize one of them first (`last(…)`, `final(…)`), or pass it as the initial state of a scan" },
        });
        return false;
      }
      seq = s;
      at = i;
    }
    return seq;
  }

  /** A node computed step by step from its arguments: a sequence when one of them is. */
  pointwise(op: Op, args: readonly NodeId[], shape: Shape, span: A.Span, attrs: Attrs = {}): NodeId | undefined {
    const record = args.find((a) => this.b.nodes[a]!.op === Op.Final || this.b.nodes[a]!.op === Op.States);
    if (record !== undefined) {
      // A record of states is no value: only its fields are (final(enc).h), or it starts another scan (init = …).
      this.diags.error("RNN0709", "a record of states is used as a value", {
        file: this.file, span: this.b.nodes[record]!.span, label: "a record of states, not a value",
        notes: ["`final(…)` is every state of a scan after its last step; take one with a field, e.g. `final(enc).h`, or start another scan with it (`init = final(enc)`)"],
      });
      return undefined;
    }
    let seq: string | undefined;
    for (const a of args) if ((seq = this.b.nodes[a]!.seq) !== undefined) break;
    return this.b.add(op, args, shape, span, attrs, "float", seq);
  }

  expr(e: A.Expr): NodeId | undefined {
    switch (e.kind) {
      case "number":
        return this.b.add(Op.Const, [], [], e.span, { value: e.value });
      case "paren":
        return this.expr(e.inner);
      case "neg": {
        const x = this.expr(e.operand);
        return x === undefined ? undefined : this.pointwise(Op.Neg, [x], this.b.shape(x), e.span);
      }
      case "name":
        return this.name(e);
      case "call":
        return this.call(e);
      case "binary":
        return this.binary(e);
      case "lag":
        return this.lag(e);
      case "slice":
        return this.slice(e);
      case "field":
        if (this.values.field) return this.values.field(e);
        this.diags.error("RNN0709", "fields are read only from the final states of a scan, in a model", {
          file: this.file, span: e.field.span, label: "no field here",
          notes: ["`final(enc).h` reads state h of a scan's final states"],
        });
        return undefined;
    }
  }

  private name(e: A.NameExpr): NodeId | undefined {
    const sym = this.scope.symbols.get(e.name.text);
    if (!sym) {
      this.unknownName(e.name);
      return undefined;
    }
    switch (sym.kind) {
      case "poisoned":
        return undefined;
      case "dim":
        this.notAValue(e.name, `\`${sym.name}\` is a dimension, not a value`, "dimensions size shapes; they cannot be used in arithmetic");
        return undefined;
      case "layer":
        this.notAValue(e.name, `\`${sym.name}\` is a layer, not a value`, this.owner.kind === "model"
          ? `apply it: \`${sym.name}(x)\`, \`map(${sym.name}, xs)\` or \`scan(${sym.name}, xs)\`` : `apply it: \`${sym.name}(…)\``);
        return undefined;
      case "option":
        if (typeof sym.value === "number") return this.b.add(Op.Const, [], [], e.span, { value: sym.value });
        this.notAValue(e.name, `\`${sym.name}\` is a function option, not a value`, `call it: \`${sym.name}(…)\``);
        return undefined;
      default:
        return this.values.valueAt(sym, e);
    }
  }

  unknownName(n: A.Name): void {
    if (n.text === "t" && this.owner.kind === "cell") {
      this.notAValue(n, "`t` is the time index and is only used inside brackets", "write `h[t-1]` for the previous step of a state, and a bare `h` for the current step");
      return;
    }
    const candidates = [...this.scope.symbols.keys()].filter((k) => this.scope.symbols.get(k)!.kind !== "dim");
    const near = closestNames(n.text, candidates);
    const fn = builtins.get(n.text);
    const declare = this.owner.kind === "cell" ? `declare it, for example \`param ${n.text}: [H] ~ zeros\` or \`${n.text} = …\`` : `declare it, for example \`input ${n.text}: [T, F]\` or \`${n.text} = …\``;
    // A state's previous step is offered beside the state itself: the compiler keeps whichever compiles here.
    const offered = near.flatMap((c) => (this.owner.kind === "cell" && this.scope.symbols.get(c)?.kind === "state" ? [c, `${c}[t-1]`] : [c]));
    this.diags.error("RNN0201", `cannot find \`${n.text}\` in ${this.owner.kind} \`${this.owner.name.text}\``, {
      file: this.file, span: n.span, label: `not declared in this ${this.owner.kind}`,
      notes: fn ? [`\`${n.text}\` is a function; call it with an argument: \`${n.text}(…)\``] : [],
      help: near.length
        ? { message: `did you mean ${quoteList(near)}?`, edit: { file: this.file, span: n.span, text: near[0]! }, candidates: offered, otherwise: declare }
        : { message: declare },
    });
  }

  private notAValue(n: A.Name, message: string, help: string): void {
    this.diags.error("RNN0207", message, { file: this.file, span: n.span, label: "used as a value here", help: { message: help } });
  }

  private call(e: A.CallExpr): NodeId | undefined {
    const sym = this.scope.symbols.get(e.callee.text);
    if (sym?.kind === "poisoned") return undefined;
    // `dropout(x, dropout)`: a cell's option may share the function's name (the stdlib cells' `dropout`, as Keras names it).
    const random = randomFunctions.get(e.callee.text);
    if (random && (!sym || (sym.kind === "option" && typeof sym.value === "number")))
      return random.elaborate({ file: this.file, diags: this.diags, b: this.b, scope: this.scope, expr: (x) => this.expr(x), pointwise: (...a) => this.pointwise(...a), seqOf: (ids, xs) => this.seqOf(ids, xs) }, e);
    if (!sym) {
      const c = this.values.construct?.(e);
      if (c) return c.node;
    }
    for (const n of e.named) {
      this.diags.error("RNN0709", `\`${e.callee.text}\` takes no argument named \`${n.name.text}\``, {
        file: this.file, span: n.name.span, label: "unknown named argument",
        notes: [this.owner.kind === "cell" ? "named arguments belong to the sequence constructs of models: scan, bidirectional, generate"
          : `\`${e.callee.text}\` takes no named arguments; the constructs scan, bidirectional and generate do`],
      });
      return undefined;
    }
    if (sym?.kind === "layer") {
      this.values.layerNamed?.(sym);
      const args = e.args.map((a) => this.expr(a));
      if (!args.every((a): a is NodeId => a !== undefined)) return undefined;
      return this.values.layerCall(sym, e, args);
    }
    const fnName = sym?.kind === "option" && typeof sym.value === "string" ? sym.value : sym ? undefined : e.callee.text;
    const fn = fnName !== undefined ? builtins.get(fnName) : undefined;
    const args = e.args.map((a) => this.expr(a));
    if (!fn) {
      this.unknownFunction(e, sym);
      return undefined;
    }
    const [lo, hi] = typeof fn.arity === "number" ? [fn.arity, fn.arity] : fn.arity;
    if (args.length < lo || args.length > hi) {
      const want = lo === hi ? `${lo} argument${lo === 1 ? "" : "s"}` : `${lo} to ${hi} arguments`;
      this.diags.error("RNN0303", `\`${e.callee.text}\` takes ${want} but was given ${args.length}`, {
        file: this.file, span: e.span, label: `${args.length} argument${args.length === 1 ? "" : "s"} given`,
        notes: [`${fn.name}: ${fn.doc}`],
      });
      return undefined;
    }
    if (!args.every((a): a is NodeId => a !== undefined)) return undefined;
    if (this.seqOf(args, e.args) === false) return undefined;
    if (fn.op === Op.MatMul) return this.matmul(e, e.args[0]!, e.args[1]!, args[0], args[1]);
    const shapes = args.map((a) => this.b.shape(a));
    const result: ShapeResult = fn.op === Op.Gather && this.owner.kind === "model"
      ? { ok: false, reason: "gather is for cells; use an Embedding layer with `map`", code: "RNN0304" }
      : info(fn.op).shape!(shapes, { dtypes: args.map((a) => this.b.nodes[a]!.dtype), attrs: {} });
    if (!result.ok) {
      this.diags.error(result.code,
        `\`${e.callee.text}\` cannot take ${shapes.map(shapeToString).join(" and ")}: ${result.reason}`, {
          file: this.file, span: e.span, label: result.reason,
          secondary: e.args.map((a, i) => ({ file: this.file, span: a.span, message: `this has shape ${shapeToString(shapes[i]!)}` })),
        });
      return undefined;
    }
    return this.pointwise(fn.op, args, result.shape, e.span);
  }

  private unknownFunction(e: A.CallExpr, sym: Sym | undefined): void {
    const optionFns = [...this.scope.symbols.values()].filter((s) => s.kind === "option" && typeof s.value === "string").map((s) => s.name);
    const near = sym ? [] : closestNames(e.callee.text, [...builtins.keys(), ...randomFunctions.keys(), ...optionFns, ...(this.values.callables ?? [])]);
    const product = sym && e.args.length === 1 ? `${e.callee.text} @ ${this.src(e.args[0]!.span)}` : undefined;
    const functions = `functions: ${[...new Set([...builtins.values()].map((f) => f.name)), ...randomFunctions.keys()].join(", ")}`;
    this.diags.error("RNN0203", sym ? `\`${e.callee.text}\` is not a function` : `unknown function \`${e.callee.text}\``, {
      file: this.file, span: e.callee.span, label: sym ? `${e.callee.text} is declared as a value` : "no function has this name",
      ...(sym ? { secondary: [{ file: this.file, span: sym.span, message: "declared here" }] } : {}),
      notes: sym ? ["to multiply a matrix by a vector write `W @ x`; juxtaposition is not a product"]
        : this.owner.kind === "model" ? ["in a model, call layers, functions, or the constructs scan, map, last, final, bidirectional and generate", functions] : [functions],
      ...(near.length ? { help: { message: `did you mean \`${near[0]}\`?`, edit: { file: this.file, span: e.callee.span, text: near[0]! } } } : {}),
      ...(product ? { help: { message: `for a matrix product write \`${product}\``, edit: { file: this.file, span: e.span, text: product } } } : {}),
    });
  }

  private binary(e: A.BinaryExpr): NodeId | undefined {
    const l = this.expr(e.left);
    const r = this.expr(e.right);
    if (l === undefined || r === undefined) return undefined;
    if (this.seqOf([l, r], [e.left, e.right]) === false) return undefined;
    if (e.op === "@") return this.matmul(e, e.left, e.right, l, r);
    const ls = this.b.shape(l);
    const rs = this.b.shape(r);
    const result = broadcastShape(ls, rs);
    if (!result.ok) {
      const help = this.suggestByShape(e.right, (s) => broadcastsTo(ls, s, ls), e.left, ls)
        ?? this.suggestByShape(e.left, (s) => broadcastsTo(s, rs, rs), e.right, rs);
      this.diags.error("RNN0302", `cannot ${verb[e.op]} values of shapes ${shapeToString(ls)} and ${shapeToString(rs)}`, {
        file: this.file, span: e.span, label: `${shapeToString(ls)} ${e.opText} ${shapeToString(rs)}: ${result.reason}`,
        secondary: this.operandLabels(e.left, ls, e.right, rs),
        notes: ["elementwise operations need equal shapes; a scalar, or a dimension of 1, stretches to match the other side"],
        ...(help ? { help } : {}),
      });
      return undefined;
    }
    return this.pointwise(binaryOpFor[e.op], [l, r], result.shape, e.span);
  }

  private matmul(e: A.Expr, left: A.Expr, right: A.Expr, l: NodeId | undefined, r: NodeId | undefined): NodeId | undefined {
    if (l === undefined || r === undefined) return undefined;
    const ls = this.b.shape(l);
    const rs = this.b.shape(r);
    const result = matmulShape(ls, rs);
    if (result.ok) return this.pointwise(Op.MatMul, [l, r], result.shape, e.span);
    const ranksOk = ls.length >= 1 && ls.length <= 2 && rs.length >= 1 && rs.length <= 2;
    const expected = ranksOk ? [...ls.slice(0, -1), ...rs.slice(1)] : undefined;
    const fits = (candidate: Shape, other: Shape, candidateOnLeft: boolean): boolean => {
      const r2 = candidateOnLeft ? matmulShape(candidate, other) : matmulShape(other, candidate);
      return r2.ok && expected !== undefined && shapeEquals(r2.shape, expected);
    };
    const help = ranksOk
      ? this.suggestByShape(left, (s) => fits(s, rs, true), right, rs) ?? this.suggestByShape(right, (s) => fits(s, ls, false), left, ls)
      : undefined;
    this.diags.error(ranksOk ? "RNN0301" : "RNN0304",
      ranksOk ? `matrix product \`${this.src(e.span)}\` has mismatched inner dimensions` : `matrix product \`${this.src(e.span)}\` needs vectors or matrices`, {
        file: this.file, span: e.span, label: `${shapeToString(ls)} @ ${shapeToString(rs)}: ${result.reason}`,
        secondary: this.operandLabels(left, ls, right, rs),
        notes: ranksOk
          ? [`in \`A @ v\` the last dimension of A must equal the first dimension of v; here they are ${shapeToString(ls)} and ${shapeToString(rs)}`]
          : ["`@` multiplies a matrix [m, k] by a vector [k] or a matrix [k, n]; to scale by a scalar use `*`"],
        ...(help ? { help } : {}),
      });
    return undefined;
  }

  private operandLabels(left: A.Expr, ls: Shape, right: A.Expr, rs: Shape): Label[] {
    return [
      { file: this.file, span: left.span, message: `\`${this.src(left.span)}\` has shape ${shapeToString(ls)}` },
      { file: this.file, span: right.span, message: `\`${this.src(right.span)}\` has shape ${shapeToString(rs)}` },
    ];
  }

  /**
   * When `operand` is a plain name, looks for declared names whose shape `fits`, ranked by closeness of name:
   * this finds `W_hg` for the mistaken `W_xg` in `W_xg @ h[t-1]`.
   */
  private suggestByShape(operand: A.Expr, fits: (s: Shape) => boolean, other?: A.Expr, otherShape?: Shape): Help | undefined {
    if (operand.kind !== "name") return undefined;
    const candidates = [...this.scope.symbols.values()].filter(
      (s): s is Sym & { shape: Shape } => (s.kind === "param" || s.kind === "input" || s.kind === "state") && fits(s.shape),
    );
    const ranked = rankByName(operand.name.text, candidates.map((c) => c.name));
    const best = ranked[0];
    if (!best) return undefined;
    const shape = candidates.find((c) => c.name === best)!.shape;
    const withOther = other && otherShape ? `, which fits \`${this.src(other.span)}\`: ${shapeToString(otherShape)}` : "";
    return {
      message: `did you mean \`${best}\`? It has shape ${shapeToString(shape)}${withOther}`,
      edit: { file: this.file, span: operand.name.span, text: best },
    };
  }

  private lag(e: A.LagExpr): NodeId | undefined {
    if (this.values.lag) return this.values.lag(e);
    if (e.target.kind !== "name") {
      this.diags.error("RNN0403", "only a named state can be read at an earlier step", {
        file: this.file, span: e.indexSpan, label: "time index on an expression",
        help: { message: "give the expression a name, declare that name as a `state`, and read it as `name[t-1]`" },
      });
      return undefined;
    }
    const n = e.target.name;
    const sym = this.scope.symbols.get(n.text);
    if (!sym) {
      this.unknownName(n);
      return undefined;
    }
    if (sym.kind === "poisoned") return undefined;
    if (e.lag < 0 || (e.lag === 0 && sym.kind !== "state")) {
      if (e.lag === 0) return this.expr(e.target);
      this.diags.error("RNN0404", `\`${this.src(e.span)}\` reads a future step`, {
        file: this.file, span: e.indexSpan, label: "a cell can only look back in time",
        notes: ["a step of a cell sees its inputs at t and its states at t-1, t-2, …; a bidirectional scan is how a model sees both directions"],
        help: { message: `to read the previous step, write \`${n.text}[t-1]\``, edit: { file: this.file, span: e.indexSpan, text: "[t-1]" } },
      });
      return undefined;
    }
    if (sym.kind !== "state") {
      const what = sym.kind === "input" ? "an input" : sym.kind === "param" ? "a param" : sym.kind === "def" ? (sym.gate ? "a gate" : "a value computed each step") : `a ${sym.kind}`;
      this.diags.error("RNN0403", `\`${n.text}\` is ${what}, so it has no earlier steps to read`, {
        file: this.file, span: e.span, label: `\`${n.text}\` read at t-${e.lag}`,
        secondary: [{ file: this.file, span: sym.span, message: `declared here as ${what}` }],
        notes: [sym.kind === "input"
          ? "a cell receives its input one step at a time; only states carry values from one step to the next"
          : "only states keep their past values; everything else is computed afresh each step"],
        help: sym.kind === "input"
          ? { message: `keep the past input in a state: \`state x_prev: … \` with the equation \`x_prev = ${n.text}\`, then read \`x_prev[t-${e.lag}]\`` }
          : sym.kind === "def" ? { message: `declare \`state ${n.text}: …\` to keep its past values` } : { message: `read \`${n.text}\` without a time index` },
      });
      return undefined;
    }
    if (e.lag === 0) return this.expr(e.target);
    return this.values.stateAt(sym, e.lag, e.span);
  }

  private slice(e: A.SliceExpr): NodeId | undefined {
    const x = this.expr(e.target);
    if (x === undefined) return undefined;
    const s = this.b.shape(x);
    const dimNames = this.owner.dims.map((d) => d.name.text);
    const start = e.start ? dimOf(e.start, dimNames, this.owner, this.file, this.diags) : dimConst(0);
    const end = e.end ? dimOf(e.end, dimNames, this.owner, this.file, this.diags) : s[0];
    if (!start || !end) return undefined;
    const result = sliceShape(s, start, end);
    if (!result.ok) {
      this.diags.error("RNN0304", `cannot slice \`${this.src(e.target.span)}\` of shape ${shapeToString(s)}: ${result.reason}`, {
        file: this.file, span: e.indexSpan, label: result.reason,
        secondary: [{ file: this.file, span: e.target.span, message: `this has shape ${shapeToString(s)}` }],
        notes: ["`v[a:b]` takes elements a, a+1, …, b-1 of the first axis of v"],
      });
      return undefined;
    }
    return this.pointwise(Op.Slice, [x], result.shape, e.span, { start, end });
  }
}
