// The sequence constructs of models as one table: name, use, doc, and how each is elaborated into IR.
import { beamRefusal } from "../ir/beam-rules.js";
import { MAX_BEAM } from "../diagnostics/limits.js";
import type * as A from "../ast/nodes.js";
import type { DiagnosticBag, Label } from "../diagnostics/diagnostic.js";
import { closestNames } from "../diagnostics/suggest.js";
import type { NodeBuilder } from "../ir/builder.js";
import { shapeEquals, shapeToString, type Shape } from "../ir/dims.js";
import type { NodeId } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { broadcastShape, concatShape, type ShapeResult } from "../ir/shapes.js";
import { substShape } from "./inline.js";
import { initStates, showStates as show, statesOf } from "./init-states.js";
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
export { statesOf };

/** Helpers of the constructs, closed over one model. */
function helpers(cx: ModelContext, e: A.CallExpr) {
  const { b, file, diags, expr, src } = cx;
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

  /** The arguments, every one a sequence; those not marked `whole` (a layer's inputs read whole) stepped together, so of one length. */
  const sequences = (args: readonly A.Expr[], construct: string, e: A.CallExpr, whole: readonly (string | undefined)[] = []): NodeId[] | undefined => {
    const ids = args.map(expr);
    if (!ids.every((x): x is NodeId => x !== undefined)) return undefined;
    for (let i = 0; i < ids.length; i++) {
      if (!b.nodes[ids[i]!]!.seq) {
        err("RNN0702", whole[i] ? `\`${src(e.args[0]!.span)}\` reads \`${whole[i]}\` whole, a sequence, but \`${src(args[i]!.span)}\` is a single value` : `\`${construct}\` needs a sequence, but \`${src(args[i]!.span)}\` is a single value`, args[i]!.span, `shape ${shapeToString(b.shape(ids[i]!))}, no time axis`,
          { help: whole[i] ? "pass the whole sequence, such as the encoder's outputs `scan(encoder, xs)`, not one step of it" : construct === "last" ? "it is already a single value; use it directly"
            : construct === "final" ? "`final` takes the states of a scan: `final(scan(rnn, xs))`"
            : `apply the layer to the value directly: \`${src(e.args[0]!.span)}(${src(args[i]!.span)})\`, or generate a sequence from it` });
        return undefined;
      }
    }
    const stepped = ids.map((_, i) => i).filter((i) => !whole[i]);
    if (seqOf(stepped.map((i) => ids[i]!), stepped.map((i) => args[i]!)) === false) return undefined;
    return ids;
  };

  const { initFor } = initStates(cx, err);

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
    const both = directionsOf(b).get(x.id);
    if (both) return (both.final ??= finalOfBoth(cx, e, both));
    if (x.op !== Op.Scan && x.op !== Op.Generate) {
      err("RNN0702", "`final` takes the states of a scan or a generate", e.args[0]!.span, "not a scan",
        { help: "write `enc = scan(rnn, xs)`, then `final(enc)`" });
      return undefined;
    }
    return b.add(Op.Final, ids, [], e.span, {});
  }

/**
 * `final(bidirectional(…))`: each state of the two directions, the forward one first, joined ([h_fwd ⧺ h_bwd]), as a
 * record like a scan's final states; both layers need the same states.
 */
function finalOfBoth(cx: ModelContext, e: A.CallExpr, both: Directions): NodeId | undefined {
  const { b, err } = helpers(cx, e);
  const f = statesOf(both.fwdLayer), r = statesOf(both.bwdLayer);
  if (!f.length || f.length !== r.length || f.some((s, k) => s.name !== r[k]!.name || s.shape.length !== r[k]!.shape.length)) {
    err("RNN0709", "`final` of a bidirectional joins the two directions' states, which need the same names", e.span, "states that differ",
      { notes: [`\`${both.fwdLayer.decl.name.text}\` has states ${show(f)}`, `\`${both.bwdLayer.decl.name.text}\` has states ${show(r)}`],
        help: "write the two scans out (`f = scan(a, xs)`, `r = scan(b, xs, reverse = true)`) and take `final` of each" });
    return undefined;
  }
  const ff = b.add(Op.Final, [both.fwd], [], e.span, {}), fr = b.add(Op.Final, [both.bwd], [], e.span, {});
  const joined = f.map((s, k) => {
    const shape = concatShape([s.shape, r[k]!.shape]);
    if (!shape.ok) throw new Error("internal: states of equal rank did not concatenate");
    const parts = [b.add(Op.Field, [ff], s.shape, e.span, { name: s.name }), b.add(Op.Field, [fr], r[k]!.shape, e.span, { name: s.name })];
    return b.add(Op.Concat, parts, shape.shape, e.span, {}, "float");
  });
  return b.add(Op.States, joined, [], e.span, { names: f.map((s) => s.name) });
}

function mapOrScan(cx: ModelContext, e: A.CallExpr): NodeId | undefined {
  const { b, err, c, named, sequences, initFor, layerArg, constant, layerCtx } = helpers(cx, e);

    const inst = layerArg();
    const opts = named(e, c === "scan" ? ["init", "reverse"] : []);
    if (!inst || !opts) return undefined;
    const whole = inst.ir.inputs.map((i) => (i.memory !== undefined ? i.name : undefined));
    const ids = sequences(e.args.slice(1), c, e, whole);
    if (!ids) return undefined;
    const first = ids.find((_, k) => !whole[k]);
    if (first === undefined) return void err("RNN0702", `\`${c}\` steps through a sequence, but every input of \`${inst.decl.name.text}\` is read whole`, e.span, "nothing to step through", { help: `give \`${inst.decl.name.text}\` an input of one step, such as \`input x: [I]\`` });
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
      { layer: inst.decl.name.text, ...(c === "scan" ? { reverse: reverse === 1, hasInit: init !== undefined } : {}) }, outType(inst), b.nodes[first]!.seq);
  }

function bidirectional(cx: ModelContext, e: A.CallExpr): NodeId | undefined {
  const { b, err, c, named, sequences, layerArg, pointwise, layerCtx, initFor } = helpers(cx, e);

    const fwd = layerArg(0);
    const bwd = layerArg(1);
    const opts = named(e, ["merge", "init_fwd", "init_bwd"]);
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
    const initF = initFor(fwd, opts.get("init_fwd"));
    const initB = initFor(bwd, opts.get("init_bwd"));
    if (initF === false || initB === false) return undefined;
    const seq = b.nodes[ids[0]!]!.seq;
    fwd.applications++;
    bwd.applications++;
    const scan = (inst: LayerInstance, reverse: boolean, init: NodeId | undefined) =>
      b.add(Op.Scan, init === undefined ? ids : [...ids, init], outShape(inst), e.span, { layer: inst.decl.name.text, reverse, hasInit: init !== undefined }, "float", seq);
    const f = scan(fwd, false, initF), r = scan(bwd, true, initB);
    const shapes = [b.shape(f), b.shape(r)];
    let merged: NodeId | undefined;
    if (merge === "concat") merged = pointwise(Op.Concat, [f, r], [e, e], concatShape(shapes), e);
    else {
      const combined = pointwise(merge === "mul" ? Op.Mul : Op.Add, [f, r], [e, e], broadcastShape(shapes[0]!, shapes[1]!), e);
      merged = combined === undefined || merge !== "ave" ? combined
        : b.add(Op.Mul, [combined, b.add(Op.Const, [], [], e.span, { value: 0.5 })], b.shape(combined), e.span, {}, "float", seq);
    }
    if (merged !== undefined) directionsOf(b).set(merged, { fwd: f, bwd: r, fwdLayer: fwd, bwdLayer: bwd });
    return merged;
  }

/** The two scans behind each bidirectional's merged value, by model (for `final` of a bidirectional). */
const directions = new WeakMap<NodeBuilder, Map<NodeId, Directions>>();
/** A bidirectional's two scans and layers, and its joined final states once asked for. */
interface Directions { readonly fwd: NodeId; readonly bwd: NodeId; readonly fwdLayer: LayerInstance; readonly bwdLayer: LayerInstance; final?: NodeId | undefined }
function directionsOf(b: NodeBuilder) {
  let m = directions.get(b);
  if (!m) directions.set(b, (m = new Map()));
  return m;
}

function generate(cx: ModelContext, e: A.CallExpr): NodeId | undefined {
  const { b, err, src, expr, named, constant, initFor, layerArg, sequences, layerCtx } = helpers(cx, e);

    const inst = layerArg();
    const opts = named(e, ["init", "start", "steps", "until", "temperature", "beam", "length_norm"]);
    if (!inst || !opts) return undefined;
    // After the layer, the sequences its inputs read whole (an encoder's outputs for attention), in their order.
    const wholeInputs = inst.ir.inputs.slice(1).filter((i) => i.memory !== undefined);
    if (e.args.length !== 1 + wholeInputs.length) return void err("RNN0303", wholeInputs.length ? `\`generate\` takes the layer, then the ${wholeInputs.length} sequence${wholeInputs.length > 1 ? "s" : ""} it reads whole (${wholeInputs.map((i) => i.name).join(", ")}), then named arguments` : "`generate` takes one layer, then named arguments", e.span, `${e.args.length} positional arguments`);
    const memoryIds = sequences(e.args.slice(1), "generate", e, wholeInputs.map((i) => i.name));
    if (!memoryIds) return undefined;
    if (memoryIds.length && !bindLayer(inst, e, e.args, [NaN, ...memoryIds], b, layerCtx, 1)) return undefined;
    const input = inst.ir.inputs[0];
    const out = outShape(inst);
    const tokens = input?.dtype === "int" && input.shape.length === 0;
    const inShape = input ? layerInputShape(inst, 0) : undefined;
    if (inst.ir.inputs.length !== 1 + wholeInputs.length || input!.memory !== undefined || (tokens ? out.length !== 1 : !inShape || !shapeEquals(out, inShape))) {
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
    const beam = constant(opts.get("beam"), `a whole number of hypotheses, 1 … ${MAX_BEAM}`, (v) => Number.isInteger(v) && v >= 1 && v <= MAX_BEAM, 1);
    const lengthNorm = constant(opts.get("length_norm"), "a length normalization ≥ 0", (v) => v >= 0, 0);
    const init = initFor(inst, opts.get("init"));
    if (steps === undefined || until === undefined || temperature === undefined || beam === undefined || lengthNorm === undefined || init === false) return undefined;
    const searching = opts.get("beam") ?? opts.get("length_norm");
    if (searching && !tokens) {
      err("RNN0709", "beam search chooses among tokens, and this `generate` feeds vectors back", searching.span, "no tokens to search over",
        { help: "beam search needs a layer with a token input `[] int` and an output of scores `[V]`" });
      return undefined;
    }
    const refused = searching && (beam > 1 || temperature > 0) ? beamRefusal(inst.ir, inst.decl.name.text, temperature) : undefined;
    if (refused) {
      err("RNN0709", refused.why, searching!.span, temperature > 0 ? "beam search with a temperature" : "a state read more than one step back", { help: refused.help });
      return undefined;
    }
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
    const args = [...(init !== undefined ? [init] : []), ...(startNode !== undefined ? [startNode] : []), ...memoryIds];
    return b.add(Op.Generate, args, tokens ? [] : out, e.span,
      { layer: inst.decl.name.text, steps, until, temperature, hasInit: init !== undefined, ...(startToken !== undefined ? { startToken } : {}), ...(beam > 1 ? { beam } : {}), ...(lengthNorm > 0 ? { lengthNorm } : {}) },
      tokens ? "int" : "float", `${src(e.callee.span)}@${e.span.start}`);
  }

/** `states(…)` anywhere but `init = …`. */
function statesAlone(cx: ModelContext, e: A.CallExpr): undefined {
  const { err } = helpers(cx, e);
  err("RNN0709", "`states(…)` gives a layer its initial states, only as `init = …`", e.span, "not an initial state",
    { help: "write it where a scan or generate starts: `scan(rnn, xs, init = states(h = h0, c = c0))`" });
  return undefined;
}

/** The sequence constructs, called like functions in models. */
export const constructs: ReadonlyMap<string, ConstructInfo> = new Map([
  { name: "scan", use: "scan(layer, xs, init = states, reverse = true)", doc: "runs a recurrent layer over sequences, carrying its states; the sequence of its outputs", elaborate: mapOrScan },
  { name: "map", use: "map(layer, xs)", doc: "a stateless layer at every step of sequences", elaborate: mapOrScan },
  { name: "last", use: "last(xs)", doc: "each sequence's element at its own last step", elaborate: lastOrFinal },
  { name: "final", use: "final(scan(…))", doc: "the states after the last step, a record (final(enc).h)", elaborate: lastOrFinal },
  { name: "bidirectional", use: "bidirectional(fwd, bwd, xs, merge = concat | sum | mul | ave)", doc: "a forward and a reverse scan, merged per step", elaborate: bidirectional },
  { name: "states", use: "states(h = h0, c = c0)", doc: "initial states by name, for `init = …` of a scan or generate: a value for every state of the layer", elaborate: statesAlone },
  { name: "generate", use: "generate(layer, init = states, start = token, steps = N, until = end, temperature = t, beam = K, length_norm = a)", doc: "feeds a layer's output back as its next input: the argmax token, a sample (temperature), or beam search over K hypotheses ranked by log p / length^a", elaborate: generate },
].map((x) => [x.name, x]));
