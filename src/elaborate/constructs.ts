// The sequence constructs of models as one table: name, use, doc, and how each is elaborated into IR.
import type * as A from "../ast/nodes.js";
import type { DiagnosticBag, Label } from "../diagnostics/diagnostic.js";
import { closestNames } from "../diagnostics/suggest.js";
import type { NodeBuilder } from "../ir/builder.js";
import { shapeEquals, shapeToString, type Shape } from "../ir/dims.js";
import type { NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { broadcastShape, concatShape, type ShapeResult } from "../ir/shapes.js";
import { substShape } from "./inline.js";
import { bindLayer, layerInputShape, type LayerContext, type LayerInstance } from "./layers.js";

/** What a construct sees of the model being elaborated. */
export interface ModelContext {
  readonly b: NodeBuilder;
  readonly file: string;
  readonly diags: DiagnosticBag;
  readonly layerCtx: LayerContext;
  /** Instantiated layers by name (for the layer behind a `final`). */
  readonly layers: ReadonlyMap<string, LayerInstance | undefined>;
  src(span: A.Span): string;
  expr(e: A.Expr): NodeId | undefined;
  layerOf(n: A.Name): LayerInstance | undefined;
  /** The sequence length shared by some values; false (after reporting) when two differ. */
  seqOf(ids: readonly NodeId[], exprs: readonly A.Expr[]): string | undefined | false;
}

export interface ConstructInfo {
  readonly name: string;
  /** How it is called, with its named arguments. */
  readonly use: string;
  readonly doc: string;
  readonly elaborate: (cx: ModelContext, e: A.CallExpr) => NodeId | undefined;
}

const mergeModes = ["concat", "sum", "mul", "ave"];

export const outShape = (inst: LayerInstance): Shape => substShape(inst.ir.nodes[inst.ir.outputs[0]!.node]!.shape, inst.subst);
const outType = (inst: LayerInstance) => inst.ir.nodes[inst.ir.outputs[0]!.node]!.dtype;
export const statesOf = (inst: LayerInstance) => inst.ir.states.map((s) => ({ name: s.name, shape: substShape(s.shape, inst.subst) }));

/** Helpers of the constructs, closed over one model. */
function helpers(cx: ModelContext, e: A.CallExpr) {
  const { b, file, diags, expr, src, layers } = cx;
  const err = (code: string, message: string, span: A.Span, label: string, more: { notes?: string[]; help?: string; secondary?: Label[] } = {}) =>
    diags.error(code, message, { file, span, label, ...(more.notes ? { notes: more.notes } : {}), ...(more.secondary ? { secondary: more.secondary } : {}), ...(more.help ? { help: { message: more.help } } : {}) });
  const c = e.callee.text;
  const seqOf = cx.seqOf;
  const pointwise = (op: Op, ids: NodeId[], exprs: readonly A.Expr[], result: ShapeResult, at: A.Expr): NodeId | undefined => {
    const seq = seqOf(ids, exprs);
    if (seq === false) return undefined;
    if (!result.ok) {
      err(result.code, `\`${src(at.span)}\` has mismatched shapes: ${result.reason}`, at.span, result.reason);
      return undefined;
    }
    return b.add(op, ids, result.shape, at.span, {}, "float", seq);
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

  const layerArg = (i = 0): LayerInstance | undefined => {
    const a = e.args[i];
    if (a?.kind !== "name") {
      err("RNN0709", `the ${i === 0 ? "first" : "second"} argument of \`${c}\` is a layer`, a?.span ?? e.span, "expected a layer name", { notes: [`for example \`${c}(rnn, xs)\``] });
      return undefined;
    }
    return cx.layerOf(a.name);
  };
  return { b, err, c, src, expr, named, constant, sequences, initFor, layerArg, pointwise, layerCtx: cx.layerCtx };
}

function lastOrFinal(cx: ModelContext, e: A.CallExpr): NodeId | undefined {
  const { b, err, c, named, sequences } = helpers(cx, e);

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

function mapOrScan(cx: ModelContext, e: A.CallExpr): NodeId | undefined {
  const { b, err, c, named, sequences, initFor, layerArg, constant, layerCtx } = helpers(cx, e);

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

function bidirectional(cx: ModelContext, e: A.CallExpr): NodeId | undefined {
  const { b, err, c, named, sequences, layerArg, pointwise, layerCtx } = helpers(cx, e);

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

function generate(cx: ModelContext, e: A.CallExpr): NodeId | undefined {
  const { b, err, src, expr, named, constant, initFor, layerArg } = helpers(cx, e);

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

/** The sequence constructs, called like functions in models. */
export const constructs: ReadonlyMap<string, ConstructInfo> = new Map([
  { name: "scan", use: "scan(layer, xs, init = states, reverse = true)", doc: "runs a recurrent layer over sequences, carrying its states; the sequence of its outputs", elaborate: mapOrScan },
  { name: "map", use: "map(layer, xs)", doc: "a stateless layer at every step of sequences", elaborate: mapOrScan },
  { name: "last", use: "last(xs)", doc: "each sequence's element at its own last step", elaborate: lastOrFinal },
  { name: "final", use: "final(scan(…))", doc: "the states after the last step, a record (final(enc).h)", elaborate: lastOrFinal },
  { name: "bidirectional", use: "bidirectional(fwd, bwd, xs, merge = concat | sum | mul | ave)", doc: "a forward and a reverse scan, merged per step", elaborate: bidirectional },
  { name: "generate", use: "generate(layer, init = states, start = token, steps = N, until = end, temperature = t)", doc: "feeds a layer's output back as its next input", elaborate: generate },
].map((x) => [x.name, x]));
