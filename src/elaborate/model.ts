// Elaborates a model: inputs (single values or sequences of dynamic length), layers, and the sequence constructs over them.
import type * as A from "../ast/nodes.js";
import type { DiagnosticBag, Label } from "../diagnostics/diagnostic.js";
import { closestNames, quoteList } from "../diagnostics/suggest.js";
import { broadcastShape, concatShape, lastAxisShape, matmulShape, sliceShape, transposeShape, type ShapeResult } from "../ir/shapes.js";
import { dimConst, shapeEquals, shapeToString, type Dim, type Shape } from "../ir/dims.js";
import type { DimInfo, LayerInfo, ModelInputInfo, ModelIR, NodeId, ValueInfo } from "../ir/ir.js";
import { Op, builtins, unaryOps } from "../ir/ops.js";
import { NodeBuilder } from "../ir/builder.js";
import { substShape } from "./inline.js";
import { bindLayer, instantiateLayer, layerInputShape, type CellLibrary, type LayerContext, type LayerInstance } from "./layers.js";
import { dimOf } from "./scope.js";

type MSym =
  | { kind: "dim"; name: string; span: A.Span }
  | { kind: "input"; name: string; decl: A.InputDecl; span: A.Span }
  | { kind: "layer"; name: string; decl: A.LayerDecl; span: A.Span }
  | { kind: "def"; name: string; value: A.Expr; span: A.Span; doc: string | undefined };

/** The sequence constructs of models, called like functions. */
export const constructs: ReadonlySet<string> = new Set(["scan", "map", "last", "final", "bidirectional", "generate"]);
const mergeModes = ["concat", "sum", "mul", "ave"];

export interface ElaboratedModel { readonly ir: ModelIR; readonly ok: boolean }

export function elaborateModel(model: A.ModelDecl, file: string, text: string, diags: DiagnosticBag, lib: CellLibrary): ElaboratedModel {
  const errorsBefore = diags.items.filter((d) => d.severity === "error").length;
  const b = new NodeBuilder();
  const symbols = new Map<string, MSym>();
  const outputs: A.OutputItem[] = [];
  const src = (s: A.Span) => text.slice(s.start, s.end);
  const err = (code: string, message: string, span: A.Span, label: string, more: { notes?: string[]; help?: string; secondary?: Label[] } = {}) =>
    diags.error(code, message, { file, span, label, ...(more.notes ? { notes: more.notes } : {}), ...(more.secondary ? { secondary: more.secondary } : {}), ...(more.help ? { help: { message: more.help } } : {}) });

  const declare = (s: MSym) => {
    const prev = symbols.get(s.name);
    if (prev) {
      diags.error("RNN0202", `\`${s.name}\` is declared twice in model \`${model.name.text}\``, {
        file, span: s.span, label: "declared again here", secondary: [{ file, span: prev.span, message: "first declared here" }],
        help: { message: "give one of them another name" },
      });
      return;
    }
    symbols.set(s.name, s);
  };
  for (const d of model.dims) declare({ kind: "dim", name: d.name.text, span: d.name.span });
  for (const item of model.items) {
    if (item.kind === "input") declare({ kind: "input", name: item.name.text, decl: item, span: item.name.span });
    else if (item.kind === "layer") declare({ kind: "layer", name: item.name.text, decl: item, span: item.name.span });
    else if (item.kind === "def") declare({ kind: "def", name: item.name.text, value: item.value, span: item.name.span, doc: item.doc });
    else for (const o of item.items) {
      outputs.push(o);
      if (o.value) declare({ kind: "def", name: o.name.text, value: o.value, span: o.name.span, doc: item.doc });
    }
  }
  const dimNames = model.dims.map((d) => d.name.text);

  // Inputs: a first axis named by an undeclared dimension is a sequence of that dynamic length.
  const inputs: ModelInputInfo[] = [];
  const inputNodes = new Map<string, NodeId | undefined>();
  for (const s of symbols.values()) {
    if (s.kind !== "input") continue;
    const dims = s.decl.shape.dims;
    const first = dims[0];
    const seq = first?.kind === "dimName" && !dimNames.includes(first.name.text) ? first.name.text : undefined;
    const rest = (seq ? dims.slice(1) : dims).map((d) => dimOf(d, dimNames, model, file, diags));
    if (!rest.every((d): d is Dim => d !== undefined)) { inputNodes.set(s.name, undefined); continue; }
    inputs.push({ name: s.name, shape: rest, seq, dtype: s.decl.dtype, ...(s.decl.doc ? { doc: s.decl.doc } : {}), span: s.span });
    inputNodes.set(s.name, b.add(Op.Input, [], rest, s.span, { name: s.name }, s.decl.dtype, seq));
  }

  const layerCtx: LayerContext = { file, owner: model, ownerDims: dimNames, diags, lib };
  const layers = new Map<string, LayerInstance | undefined>();
  const layerOf = (n: A.Name): LayerInstance | undefined => {
    const s = symbols.get(n.text);
    if (s?.kind !== "layer") {
      const near = closestNames(n.text, [...symbols.values()].filter((x) => x.kind === "layer").map((x) => x.name));
      diags.error("RNN0709", s ? `\`${n.text}\` is not a layer` : `cannot find layer \`${n.text}\``, {
        file, span: n.span, label: "expected a layer here",
        notes: ["declare one with `layer rnn = LSTM<E, H>`"],
        ...(near.length ? { help: { message: `did you mean \`${near[0]}\`?`, edit: { file, span: n.span, text: near[0]! } } } : {}),
      });
      return undefined;
    }
    if (!layers.has(s.name)) layers.set(s.name, instantiateLayer(s.decl, layerCtx));
    return layers.get(s.name);
  };
  const outShape = (inst: LayerInstance): Shape => substShape(inst.ir.nodes[inst.ir.outputs[0]!.node]!.shape, inst.subst);
  const outType = (inst: LayerInstance) => inst.ir.nodes[inst.ir.outputs[0]!.node]!.dtype;
  const statesOf = (inst: LayerInstance) => inst.ir.states.map((s) => ({ name: s.name, shape: substShape(s.shape, inst.subst) }));

  // Definitions, in dependency order, with loops reported.
  const status = new Map<string, NodeId | "busy" | "failed">();
  const valueOf = (s: MSym & { kind: "def" }, use: A.Name): NodeId | undefined => {
    const st = status.get(s.name);
    if (st === "busy") {
      err("RNN0405", `\`${s.name}\` depends on itself`, use.span, "used while it is being computed",
        { notes: ["a model is a graph without loops; recurrence lives in cells, over time"] });
      return undefined;
    }
    if (st === "failed") return undefined;
    if (st !== undefined) return st;
    status.set(s.name, "busy");
    const node = expr(s.value);
    status.set(s.name, node ?? "failed");
    return node;
  };

  /** The common sequence symbol of some values; false (after reporting) when two differ. */
  const seqOf = (ids: readonly NodeId[], exprs: readonly A.Expr[]): string | undefined | false => {
    let seq: string | undefined;
    let at = -1;
    for (let i = 0; i < ids.length; i++) {
      const s = b.nodes[ids[i]!]!.seq;
      if (!s) continue;
      if (seq && s !== seq) {
        err("RNN0707", `sequences of different lengths ${seq} and ${s} are combined step by step`, exprs[i]!.span, `a sequence of length ${s}`, {
          secondary: [{ file, span: exprs[at]!.span, message: `a sequence of length ${seq}` }],
          notes: ["step-by-step operations pair the steps of aligned sequences; these may differ in length"],
          help: "summarize one of them first (`last(…)`, `final(…)`), or pass it as the initial state of a scan",
        });
        return false;
      }
      seq = s;
      at = i;
    }
    return seq;
  };

  const pointwise = (op: Op, ids: NodeId[], exprs: readonly A.Expr[], result: ShapeResult, e: A.Expr, code = "RNN0302"): NodeId | undefined => {
    const seq = seqOf(ids, exprs);
    if (seq === false) return undefined;
    if (!result.ok) {
      err(code, `\`${src(e.span)}\` has mismatched shapes: ${result.reason}`, e.span, result.reason, {
        secondary: exprs.map((x, i) => ({ file, span: x.span, message: `this has shape ${shapeToString(b.shape(ids[i]!))}` })),
      });
      return undefined;
    }
    return b.add(op, ids, result.shape, e.span, {}, "float", seq);
  };

  const expr = (e: A.Expr): NodeId | undefined => {
    switch (e.kind) {
      case "number": return b.add(Op.Const, [], [], e.span, { value: e.value });
      case "paren": return expr(e.inner);
      case "neg": {
        const x = expr(e.operand);
        return x === undefined ? undefined : b.add(Op.Neg, [x], b.shape(x), e.span, {}, "float", b.nodes[x]!.seq);
      }
      case "name": return name(e.name);
      case "binary": {
        const l = expr(e.left);
        const r = expr(e.right);
        if (l === undefined || r === undefined) return undefined;
        const shapes = [b.shape(l), b.shape(r)] as const;
        if (e.op === "@") return pointwise(Op.MatMul, [l, r], [e.left, e.right], matmulShape(...shapes), e, "RNN0301");
        const op = { "+": Op.Add, "-": Op.Sub, "*": Op.Mul, "/": Op.Div }[e.op];
        return pointwise(op, [l, r], [e.left, e.right], broadcastShape(...shapes), e);
      }
      case "slice": {
        const x = expr(e.target);
        if (x === undefined) return undefined;
        const start = e.start ? dimOf(e.start, dimNames, model, file, diags) : dimConst(0);
        const end = e.end ? dimOf(e.end, dimNames, model, file, diags) : b.shape(x)[0];
        if (!start || !end) return undefined;
        const r = sliceShape(b.shape(x), start, end);
        if (!r.ok) { err("RNN0304", `cannot slice \`${src(e.target.span)}\`: ${r.reason}`, e.indexSpan, r.reason); return undefined; }
        return b.add(Op.Slice, [x], r.shape, e.span, { start, end }, "float", b.nodes[x]!.seq);
      }
      case "lag":
        err("RNN0403", "a model has no time index", e.indexSpan, "`[t-k]` is only for states inside a cell",
          { help: "write the recurrence in a cell and run it over the sequence with `scan(layer, xs)`" });
        return undefined;
      case "field": return field(e);
      case "call": return call(e);
    }
  };

  const name = (n: A.Name): NodeId | undefined => {
    const s = symbols.get(n.text);
    if (!s) {
      const near = closestNames(n.text, [...symbols.values()].filter((x) => x.kind !== "dim").map((x) => x.name));
      diags.error("RNN0201", `cannot find \`${n.text}\` in model \`${model.name.text}\``, {
        file, span: n.span, label: "not declared in this model",
        ...(near.length ? { help: { message: `did you mean ${quoteList(near)}?`, edit: { file, span: n.span, text: near[0]! } } } : {}),
      });
      return undefined;
    }
    if (s.kind === "input") return inputNodes.get(s.name);
    if (s.kind === "def") return valueOf(s, n);
    err("RNN0207", `\`${n.text}\` is ${s.kind === "dim" ? "a dimension" : "a layer"}, not a value`, n.span, "used as a value here",
      { help: s.kind === "layer" ? `apply it: \`${n.text}(x)\`, \`map(${n.text}, xs)\` or \`scan(${n.text}, xs)\`` : "dimensions size shapes" });
    return undefined;
  };

  const field = (e: A.FieldExpr): NodeId | undefined => {
    const rec = expr(e.target);
    if (rec === undefined) return undefined;
    const node = b.nodes[rec]!;
    if (node.op !== Op.Final) {
      err("RNN0709", "only final states have fields", e.field.span, "no field here", { notes: ["`final(enc).h` is state h of scan `enc` after its last step"] });
      return undefined;
    }
    const inst = layers.get(b.nodes[node.args[0]!]!.attrs.layer!)!;
    const st = statesOf(inst).find((s) => s.name === e.field.text);
    if (!st) {
      const near = closestNames(e.field.text, statesOf(inst).map((s) => s.name));
      err("RNN0709", `layer \`${inst.decl.name.text}\` has no state \`${e.field.text}\``, e.field.span, "no such state",
        { notes: [`its states are ${statesOf(inst).map((s) => s.name).join(", ") || "none"}`], ...(near.length ? { help: `did you mean \`${near[0]}\`?` } : {}) });
      return undefined;
    }
    return b.add(Op.Field, [rec], st.shape, e.span, { name: st.name });
  };

  const named = (e: A.CallExpr, allowed: readonly string[]): Map<string, A.NamedArg> | undefined => {
    const out = new Map<string, A.NamedArg>();
    for (const n of e.named) {
      if (!allowed.includes(n.name.text) || out.has(n.name.text)) {
        const near = closestNames(n.name.text, allowed);
        err("RNN0709", out.has(n.name.text) ? `\`${n.name.text}\` is given twice` : `\`${e.callee.text}\` takes no argument named \`${n.name.text}\``, n.name.span,
          "unexpected named argument", { notes: [`\`${e.callee.text}\` takes ${allowed.map((a) => `\`${a} = …\``).join(", ") || "no named arguments"}`], ...(near.length ? { help: `did you mean \`${near[0]}\`?` } : {}) });
        return undefined;
      }
      out.set(n.name.text, n);
    }
    return out;
  };

  const constant = (n: A.NamedArg | undefined, what: string, check: (v: number) => boolean, fallback: number): number | undefined => {
    if (!n) return fallback;
    const v = n.value.kind === "number" ? n.value.value : n.value.kind === "neg" && n.value.operand.kind === "number" ? -n.value.operand.value
      : n.value.kind === "name" && (n.value.name.text === "true" || n.value.name.text === "false") ? Number(n.value.name.text === "true") : NaN;
    if (!check(v)) { err("RNN0709", `\`${n.name.text}\` must be ${what}`, n.value.span, `not ${what}`); return undefined; }
    return v;
  };

  const sequences = (args: readonly A.Expr[], construct: string, e: A.CallExpr): NodeId[] | undefined => {
    const ids = args.map(expr);
    if (!ids.every((x): x is NodeId => x !== undefined)) return undefined;
    for (let i = 0; i < ids.length; i++) {
      if (!b.nodes[ids[i]!]!.seq) {
        err("RNN0702", `\`${construct}\` needs a sequence, but \`${src(args[i]!.span)}\` is a single value`, args[i]!.span, `shape ${shapeToString(b.shape(ids[i]!))}, no time axis`,
          { help: construct === "last" ? "it is already a single value; use it directly"
            : construct === "final" ? "`final` takes the states of a scan: `final(scan(rnn, xs))`"
            : `apply the layer to the value directly: \`${src(e.args[0]!.span)}(${src(args[i]!.span)})\`, or generate a sequence from it` });
        return undefined;
      }
    }
    if (seqOf(ids, args) === false) return undefined;
    return ids;
  };

  /** Checks an `init = …` against a layer's states: a record of equal shapes in order, or one value for the first state. */
  const initFor = (inst: LayerInstance, n: A.NamedArg | undefined): NodeId | undefined | false => {
    if (!n) return undefined;
    const id = expr(n.value);
    if (id === undefined) return false;
    const node = b.nodes[id]!;
    const want = statesOf(inst);
    if (node.seq) {
      err("RNN0702", "an initial state is a single value, not a sequence", n.value.span, `a sequence of length ${node.seq}`, { help: "take `last(…)` of it, or `final(…)` of its scan" });
      return false;
    }
    if (node.op === Op.Final) {
      const from = layers.get(b.nodes[node.args[0]!]!.attrs.layer!)!;
      const have = statesOf(from);
      const fits = have.length === want.length && have.every((s, i) => shapeEquals(s.shape, want[i]!.shape));
      if (!fits) {
        const show = (ss: { name: string; shape: Shape }[]) => ss.map((s) => `${s.name}: ${shapeToString(s.shape)}`).join(", ") || "none";
        err("RNN0705", `the final states of \`${from.decl.name.text}\` do not fit the states of \`${inst.decl.name.text}\``, n.value.span,
          `states ${show(have)}`, { notes: [`\`${inst.decl.name.text}\` (${inst.label}) has states ${show(want)}`, "states are handed over in order and must agree in number and shape"],
            help: "give both layers the same hidden size and the same kind of cell, or pass one state: `init = final(enc).h`" });
        return false;
      }
      return id;
    }
    if (!want.length || !shapeEquals(node.shape, want[0]!.shape)) {
      err("RNN0705", `\`${src(n.value.span)}\` of shape ${shapeToString(node.shape)} cannot start \`${inst.decl.name.text}\``, n.value.span, `shape ${shapeToString(node.shape)}`,
        { notes: [want.length ? `a single value sets the first state, ${want[0]!.name}: ${shapeToString(want[0]!.shape)}` : `\`${inst.decl.name.text}\` has no state`] });
      return false;
    }
    return id;
  };

  const call = (e: A.CallExpr): NodeId | undefined => {
    const callee = e.callee.text;
    const sym = symbols.get(callee);
    if (sym?.kind === "layer") return applyOnce(e, sym);
    if (constructs.has(callee) && !sym) return construct(e);
    const fn = builtins.get(callee);
    if (!fn || sym) {
      const near = closestNames(callee, [...builtins.keys(), ...constructs, ...[...symbols.values()].filter((s) => s.kind === "layer").map((s) => s.name)]);
      err("RNN0203", `unknown function \`${callee}\``, e.callee.span, "no function or layer has this name",
        { notes: ["in a model, call layers, functions, or the constructs scan, map, last, final, bidirectional and generate"], ...(near.length ? { help: `did you mean \`${near[0]}\`?` } : {}) });
      return undefined;
    }
    if (e.named.length) { named(e, []); return undefined; }
    const ids = e.args.map(expr);
    if (!ids.every((x): x is NodeId => x !== undefined)) return undefined;
    const [lo, hi] = typeof fn.arity === "number" ? [fn.arity, fn.arity] : fn.arity;
    if (ids.length < lo || ids.length > hi) {
      err("RNN0303", `\`${callee}\` takes ${lo === hi ? lo : `${lo} to ${hi}`} argument${hi === 1 ? "" : "s"} but was given ${ids.length}`, e.span, `${ids.length} given`);
      return undefined;
    }
    const shapes = ids.map((i) => b.shape(i));
    const result: ShapeResult = unaryOps.has(fn.op) ? { ok: true, shape: shapes[0]! }
      : fn.op === Op.Softmax || fn.op === Op.LogSoftmax ? lastAxisShape(shapes[0]!, false)
      : fn.op === Op.Sum || fn.op === Op.Mean ? lastAxisShape(shapes[0]!, true)
      : fn.op === Op.Concat ? concatShape(shapes)
      : fn.op === Op.MatMul ? matmulShape(shapes[0]!, shapes[1]!)
      : fn.op === Op.Transpose ? transposeShape(shapes[0]!)
      : fn.op === Op.Gather ? { ok: false, reason: "gather is for cells; use an Embedding layer with `map`", code: "RNN0304" }
      : broadcastShape(shapes[0]!, shapes[1]!);
    return pointwise(fn.op, ids, e.args, result, e, fn.op === Op.MatMul ? "RNN0301" : "RNN0304");
  };

  /** `layer(x…)`: a stateless layer on single values. */
  const applyOnce = (e: A.CallExpr, sym: MSym & { kind: "layer" }): NodeId | undefined => {
    const inst = layerOf(sym.decl.name);
    const ids = e.args.map(expr);
    if (!inst || !ids.every((x): x is NodeId => x !== undefined) || named(e, []) === undefined) return undefined;
    const seqArg = ids.findIndex((i) => b.nodes[i]!.seq);
    if (seqArg >= 0) {
      err("RNN0701", `layer \`${sym.name}\` works on one step, but \`${src(e.args[seqArg]!.span)}\` is a whole sequence`, e.span,
        `applied to a sequence of length ${b.nodes[ids[seqArg]!]!.seq}`, {
          help: inst.recurrent ? `run it over the sequence: \`scan(${sym.name}, ${e.args.map((a) => src(a.span)).join(", ")})\``
            : `apply it at every step: \`map(${sym.name}, ${e.args.map((a) => src(a.span)).join(", ")})\`, or to one step: \`${sym.name}(last(…))\``,
        });
      return undefined;
    }
    if (inst.recurrent) {
      err("RNN0703", `layer \`${sym.name}\` is recurrent, so it runs over a sequence`, e.span, "applied to a single value", {
        notes: [`${inst.label} has states ${inst.ir.states.map((s) => s.name).join(", ")}`],
        help: `run it with \`scan(${sym.name}, xs)\`, or produce a sequence with \`generate(${sym.name}, …)\``,
      });
      return undefined;
    }
    if (!bindLayer(inst, e, e.args, ids, b, layerCtx)) return undefined;
    inst.applications++;
    return b.add(Op.Apply, ids, outShape(inst), e.span, { layer: sym.name }, outType(inst));
  };

  const construct = (e: A.CallExpr): NodeId | undefined => {
    const c = e.callee.text;
    const layerArg = (i = 0): LayerInstance | undefined => {
      const a = e.args[i];
      if (a?.kind !== "name") {
        err("RNN0709", `the ${i === 0 ? "first" : "second"} argument of \`${c}\` is a layer`, a?.span ?? e.span, "expected a layer name", { notes: [`for example \`${c}(rnn, xs)\``] });
        return undefined;
      }
      return layerOf(a.name);
    };
    switch (c) {
      case "last": case "final": {
        if (e.args.length !== 1 || named(e, []) === undefined) {
          err("RNN0303", `\`${c}\` takes one argument`, e.span, `${e.args.length} given`);
          return undefined;
        }
        const ids = sequences(e.args, c, e);
        if (!ids) return undefined;
        const x = b.nodes[ids[0]!]!;
        if (c === "last") return b.add(Op.Last, ids, x.shape, e.span, {}, x.dtype);
        if (x.op !== Op.Scan && x.op !== Op.Generate) {
          err("RNN0702", "`final` takes the states of a scan or a generate", e.args[0]!.span, "not a scan",
            { help: "write `enc = scan(rnn, xs)`, then `final(enc)`" });
          return undefined;
        }
        return b.add(Op.Final, ids, [], e.span, {});
      }
      case "map": case "scan": {
        const inst = layerArg();
        const opts = named(e, c === "scan" ? ["init", "reverse"] : []);
        if (!inst || !opts) return undefined;
        const ids = sequences(e.args.slice(1), c, e);
        if (!ids) return undefined;
        if (c === "map" && inst.recurrent) {
          err("RNN0703", `\`map\` applies a layer to each step on its own, but \`${inst.decl.name.text}\` is recurrent`, e.span, "a recurrent layer",
            { help: `carry its states from step to step with \`scan(${inst.decl.name.text}, …)\`` });
          return undefined;
        }
        if (!bindLayer(inst, e, e.args.slice(1), ids, b, layerCtx)) return undefined;
        const init = initFor(inst, opts.get("init"));
        const reverse = constant(opts.get("reverse"), "true or false", (v) => v === 0 || v === 1, 0);
        if (init === false || reverse === undefined) return undefined;
        inst.applications++;
        const args = init === undefined ? ids : [...ids, init];
        return b.add(c === "map" ? Op.Map : Op.Scan, args, outShape(inst), e.span,
          { layer: inst.decl.name.text, ...(c === "scan" ? { reverse: reverse === 1, hasInit: init !== undefined } : {}) }, outType(inst), b.nodes[ids[0]!]!.seq);
      }
      case "bidirectional": {
        const fwd = layerArg(0);
        const bwd = layerArg(1);
        const opts = named(e, ["merge"]);
        if (!fwd || !bwd || !opts) return undefined;
        const ids = sequences(e.args.slice(2), c, e);
        if (!ids) return undefined;
        const mergeArg = opts.get("merge");
        const merge = mergeArg ? (mergeArg.value.kind === "name" ? mergeArg.value.name.text : "") : "concat";
        if (!mergeModes.includes(merge)) {
          err("RNN0709", "`merge` is one of concat, sum, mul, ave", mergeArg!.value.span, "unknown merge mode");
          return undefined;
        }
        if (!bindLayer(fwd, e, e.args.slice(2), ids, b, layerCtx) || !bindLayer(bwd, e, e.args.slice(2), ids, b, layerCtx)) return undefined;
        const seq = b.nodes[ids[0]!]!.seq;
        fwd.applications++;
        bwd.applications++;
        const f = b.add(Op.Scan, ids, outShape(fwd), e.span, { layer: fwd.decl.name.text, reverse: false, hasInit: false }, "float", seq);
        const r = b.add(Op.Scan, ids, outShape(bwd), e.span, { layer: bwd.decl.name.text, reverse: true, hasInit: false }, "float", seq);
        const shapes = [b.shape(f), b.shape(r)];
        if (merge === "concat") return pointwise(Op.Concat, [f, r], [e, e], concatShape(shapes), e);
        const combined = pointwise(merge === "mul" ? Op.Mul : Op.Add, [f, r], [e, e], broadcastShape(shapes[0]!, shapes[1]!), e);
        if (combined === undefined || merge !== "ave") return combined;
        return b.add(Op.Mul, [combined, b.add(Op.Const, [], [], e.span, { value: 0.5 })], b.shape(combined), e.span, {}, "float", seq);
      }
      case "generate": {
        const inst = layerArg();
        const opts = named(e, ["init", "start", "steps", "until", "temperature"]);
        if (!inst || !opts) return undefined;
        if (e.args.length !== 1) { err("RNN0303", "`generate` takes one layer, then named arguments", e.span, `${e.args.length} positional arguments`); return undefined; }
        const input = inst.ir.inputs[0];
        const out = outShape(inst);
        const tokens = input?.dtype === "int" && input.shape.length === 0;
        const inShape = input ? layerInputShape(inst, 0) : undefined;
        if (inst.ir.inputs.length !== 1 || (tokens ? out.length !== 1 : !inShape || !shapeEquals(out, inShape))) {
          err("RNN0706", `\`generate\` cannot feed the output of \`${inst.decl.name.text}\` back as its input`, e.args[0]!.span,
            `output ${shapeToString(out)}, input ${input ? `${shapeToString(inShape ?? input.shape)}${input.dtype === "int" ? " int" : ""}` : "none"}`, {
              notes: ["generate feeds each step's output back: scores over a vocabulary [V] become the next token id by argmax or sampling (for an `int` token input), or the output itself is the next input (same shape)"],
              help: "give the layer one input: a token id `[] int` with an output of scores `[V]`, or an input with the output's shape",
            });
          return undefined;
        }
        const steps = constant(opts.get("steps"), "a whole number of steps ≥ 1", (v) => Number.isInteger(v) && v >= 1, NaN);
        if (steps !== undefined && Number.isNaN(steps)) { err("RNN0709", "`generate` needs `steps = N`, the most steps to take", e.span, "no steps given"); return undefined; }
        const until = constant(opts.get("until"), "a token id", (v) => Number.isInteger(v) && v >= 0, -1);
        const temperature = constant(opts.get("temperature"), "a temperature ≥ 0", (v) => v >= 0, 0);
        const init = initFor(inst, opts.get("init"));
        if (steps === undefined || until === undefined || temperature === undefined || init === false) return undefined;
        const startArg = opts.get("start");
        let startToken: number | undefined;
        let startNode: NodeId | undefined;
        if (tokens) {
          startToken = constant(startArg, "a token id", (v) => Number.isInteger(v) && v >= 0, 0);
          if (startToken === undefined) return undefined;
        } else {
          if (!startArg) { err("RNN0709", "`generate` with a vector input needs `start = …`, the first input", e.span, "no start given"); return undefined; }
          startNode = expr(startArg.value);
          if (startNode === undefined) return undefined;
          if (!shapeEquals(b.shape(startNode), inShape!) || b.nodes[startNode]!.seq) {
            err("RNN0706", `\`start\` has shape ${shapeToString(b.shape(startNode))}, but the layer's input is ${shapeToString(inShape!)}`, startArg.value.span, "wrong shape");
            return undefined;
          }
        }
        inst.applications++;
        const args = [...(init !== undefined ? [init] : []), ...(startNode !== undefined ? [startNode] : [])];
        return b.add(Op.Generate, args, tokens ? [] : out, e.span,
          { layer: inst.decl.name.text, steps, until, temperature, hasInit: init !== undefined, ...(startToken !== undefined ? { startToken } : {}) },
          tokens ? "int" : "float", `${src(e.callee.span)}@${e.span.start}`);
      }
    }
    return undefined;
  };

  for (const s of symbols.values()) if (s.kind === "def") valueOf(s, { text: s.name, span: s.span });
  const outs: ValueInfo[] = [];
  for (const o of outputs) {
    const node = name(o.name);
    if (node !== undefined) outs.push({ name: o.name.text, node, gate: false, span: o.span });
  }
  if (!outputs.length) err("RNN0406", `model \`${model.name.text}\` has no output`, model.name.span, "this model declares no `output`", { help: "name what it produces, for example `output probs = softmax(head(last(scan(rnn, xs))))`" });
  for (const s of symbols.values()) {
    if (s.kind !== "layer" || layers.has(s.name)) continue;
    if (layerOf(s.decl.name))
      diags.warning("RNN0504", `layer \`${s.name}\` is never applied`, { file, span: s.span, label: "declared here, but no equation uses it", help: { message: `apply it, or remove it` } });
  }
  const layerInfos: LayerInfo[] = [...layers].filter((x): x is [string, LayerInstance] => !!x[1])
    .map(([n, inst]) => ({ name: n, ir: inst.ir, dims: new Map([...inst.subst].filter((x): x is [string, Dim] => !!x[1])), span: inst.decl.span }));
  const dims: DimInfo[] = model.dims.map((d) => ({ name: d.name.text, default: d.default, span: d.span }));
  const ok = diags.items.filter((d) => d.severity === "error").length === errorsBefore;
  return { ir: { name: model.name.text, file, dims, inputs, layers: layerInfos, nodes: b.nodes, outputs: outs, ...(model.doc ? { doc: model.doc } : {}) }, ok };
}
